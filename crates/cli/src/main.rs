//! `costcarve`: the product's operations on the command line — demo data,
//! accounts, virtual integrations, cost queries, confined SQL and charts —
//! over the same core the desktop app uses.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use costcarve_aws::athena::ResultSource;
use costcarve_aws::org::Progress;
use costcarve_aws::{AwsWorkspace, WorkspaceError};
use costcarve_charts::{ChartKind, ChartOptions};
use costcarve_core::account::{parse_account_list, AccountId, Organization};
use costcarve_core::cost::{
    first_of_month, CostQuery, CostSeries, Dimension, Granularity, Metric,
    NON_USAGE_LINE_ITEM_TYPES,
};
use costcarve_core::error::{Coded, ErrorCode};
use costcarve_core::integration::{IntegrationChange, IntegrationSet, NewIntegration};
use costcarve_core::ports::{Clock, SystemClock};
use costcarve_local::demo::{self, DemoSpec};
use costcarve_local::{LocalError, LocalWorkspace};
use tokio_util::sync::CancellationToken;

mod aws_vi;
mod connection_cmd;

use aws_vi::aws_vi_cmd;
use connection_cmd::Dirs;

#[derive(Parser)]
#[command(
    name = "costcarve",
    version,
    about = "Carve per-customer cost views out of an AWS payer's bill"
)]
struct Cli {
    /// The local workspace folder (a demo, or CUR Parquet copied from S3).
    #[arg(
        long,
        global = true,
        env = "COSTCARVE_WORKSPACE",
        conflicts_with = "connection"
    )]
    workspace: Option<PathBuf>,
    /// Work on a payer through this connection (see `costcarve connection`).
    #[arg(long, global = true, env = "COSTCARVE_CONNECTION")]
    connection: Option<String>,
    /// Where connections are saved (default: the OS config folder).
    #[arg(long, global = true, env = "COSTCARVE_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    /// Where this desktop keeps its caches and journal (default: the OS data folder).
    #[arg(long, global = true, env = "COSTCARVE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a demo workspace: an organization and 13 months of CUR data.
    Demo {
        /// Folder to create it in.
        #[arg(long)]
        dir: PathBuf,
        /// Approximate number of CUR rows.
        #[arg(long, default_value_t = demo::DEFAULT_ROWS)]
        rows: u64,
        /// Random seed: same seed, rows and end month give identical files.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Last month, YYYY-MM, filled to its end; by default the current
        /// month, with data up to today.
        #[arg(long)]
        end_month: Option<String>,
    },
    /// Connections to payer accounts.
    #[command(subcommand)]
    Connection(connection_cmd::ConnectionCommand),
    /// List the organization's accounts.
    Accounts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Read the organization from AWS again (else the cached copy).
        #[arg(long)]
        refresh: bool,
    },
    /// Forecast an integration's costs from today (Cost Explorer, AWS only).
    Forecast {
        /// The integration.
        name: String,
        /// First day not forecast, YYYY-MM-DD.
        #[arg(long)]
        to: NaiveDate,
        /// daily or monthly.
        #[arg(long, default_value = "monthly")]
        granularity: String,
        /// unblended, net_unblended or amortized.
        #[arg(long, default_value = "unblended")]
        metric: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage virtual integrations.
    #[command(subcommand)]
    Vi(ViCommand),
    /// Costs of an integration.
    Cost(CostArgs),
    /// Run SQL on one integration's data (the table is `cur`).
    Sql {
        /// The integration.
        name: String,
        /// The query.
        query: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Print the Athena text the query would be sent as, without running it.
        #[arg(long)]
        explain: bool,
        /// Most rows to print.
        #[arg(long, default_value_t = 10_000)]
        max_rows: usize,
    },
    /// Draw an integration's costs to an SVG or PNG file.
    Chart {
        /// The integration.
        name: String,
        /// Output file, `.svg` or `.png`.
        #[arg(long)]
        out: PathBuf,
        /// stacked (monthly by service), daily, or account (by account).
        #[arg(long, default_value = "stacked")]
        kind: String,
        /// First day (default: 12 months before the current month).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// First day not included (default: tomorrow).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Chart title.
        #[arg(long)]
        title: Option<String>,
        /// Width in pixels.
        #[arg(long, default_value_t = 1200)]
        width: u32,
        /// Height in pixels.
        #[arg(long, default_value_t = 700)]
        height: u32,
        /// Large type, for projectors.
        #[arg(long)]
        large: bool,
        /// Line item types to leave out; the daily chart leaves out the
        /// monthly Tax, Fee, Credit and Refund lines unless told otherwise
        /// (pass `--exclude ""` to keep everything).
        #[arg(long)]
        exclude: Option<String>,
    },
}

#[derive(Subcommand)]
enum ViCommand {
    /// Create an integration.
    Create {
        /// Its name.
        name: String,
        /// Comma-separated account ids.
        #[arg(long)]
        accounts: String,
        /// Allow accounts that are already in another integration.
        #[arg(long)]
        allow_shared: bool,
    },
    /// Add or remove accounts, or rename.
    Update {
        /// The integration.
        name: String,
        /// Account ids to add.
        #[arg(long)]
        add: Option<String>,
        /// Account ids to remove.
        #[arg(long)]
        remove: Option<String>,
        /// New name.
        #[arg(long)]
        rename: Option<String>,
        /// Allow added accounts that are already in another integration.
        #[arg(long)]
        allow_shared: bool,
    },
    /// Delete an integration and its view.
    Delete {
        /// The integration.
        name: String,
    },
    /// Make an integration's billing view and Athena view agree again
    /// (after drift, or a failed update); AWS only.
    Repair {
        /// The integration.
        name: String,
    },
    /// Drop an Athena view named like an integration's that no billing view
    /// owns (`vi list` warns about them); AWS only.
    DropOrphan {
        /// The view, e.g. vi_acme.
        view: String,
    },
    /// List integrations.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one integration.
    Show {
        /// The integration.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct CostArgs {
    /// The integration.
    name: String,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    from: NaiveDate,
    /// First day not included, YYYY-MM-DD.
    #[arg(long)]
    to: NaiveDate,
    /// daily or monthly.
    #[arg(long, default_value = "monthly")]
    granularity: String,
    /// Up to two of service, account, region, usage_type, line_item_type, tag:KEY.
    #[arg(long)]
    group_by: Option<String>,
    /// unblended, net_unblended or amortized.
    #[arg(long, default_value = "unblended")]
    metric: String,
    /// Line item types to leave out, e.g. Credit,Refund,Tax.
    #[arg(long)]
    exclude: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// An error with the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: ErrorCode,
    pub(crate) error: anyhow::Error,
}

impl From<LocalError> for Failure {
    fn from(e: LocalError) -> Self {
        Self {
            code: e.code(),
            error: e.into(),
        }
    }
}

impl<E: Coded + std::error::Error + Send + Sync + 'static> From<Invalid<E>> for Failure {
    fn from(e: Invalid<E>) -> Self {
        Self {
            code: e.0.code(),
            error: e.0.into(),
        }
    }
}

pub(crate) struct Invalid<E>(pub(crate) E);

fn other(e: anyhow::Error) -> Failure {
    Failure {
        code: ErrorCode::Io,
        error: e,
    }
}

pub(crate) fn invalid(msg: String) -> Failure {
    Failure {
        code: ErrorCode::InvalidInput,
        error: anyhow::anyhow!(msg),
    }
}

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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.error);
            ExitCode::from(f.code.exit_code() as u8)
        }
    }
}

/// The workspace a command works on: a local folder or a payer.
enum Workspace {
    Local(Box<LocalWorkspace>),
    Aws(Box<AwsWorkspace>),
}

impl From<WorkspaceError> for Failure {
    fn from(e: WorkspaceError) -> Self {
        Self {
            code: e.code(),
            error: e.into(),
        }
    }
}

async fn open(cli: &Cli) -> Result<Workspace, Failure> {
    if let Some(name) = &cli.connection {
        let dirs = Dirs::resolve(cli.config_dir.clone(), cli.data_dir.clone())?;
        return Ok(Workspace::Aws(Box::new(
            connection_cmd::open(&dirs, name).await?,
        )));
    }
    let dir = cli.workspace.as_deref().ok_or_else(|| {
        invalid("no workspace: pass --workspace DIR (or set COSTCARVE_WORKSPACE) or --connection NAME; create a demo with `costcarve demo --dir DIR`".into())
    })?;
    Ok(Workspace::Local(Box::new(
        LocalWorkspace::open(dir, Arc::new(SystemClock)).await?,
    )))
}

impl Workspace {
    /// The canonical name of an integration (as typed, matched loosely).
    async fn integration_name(&mut self, name: &str) -> Result<String, Failure> {
        Ok(match self {
            Workspace::Local(ws) => ws.integration(name)?.name.to_string(),
            Workspace::Aws(ws) => ws.integration(name).await?.integration.name.to_string(),
        })
    }

    async fn cost(&mut self, q: &CostQuery) -> Result<CostSeries, Failure> {
        match self {
            Workspace::Local(ws) => Ok(ws.cost(q).await?),
            Workspace::Aws(ws) => {
                let (series, usage) = ws.cost(q).await?;
                eprintln!(
                    "Cost Explorer requests: {} (USD {:.2}); {} in total through this connection (USD {:.2})",
                    usage.requests,
                    usage.requests as f64 * 0.01,
                    usage.requests_total,
                    usage.requests_total as f64 * 0.01
                );
                Ok(series)
            }
        }
    }
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| other(e.into()))?;
    out(&text);
    Ok(())
}

/// Writes a line to stdout; a closed pipe (`costcarve ... | head`) ends
/// the program quietly instead of panicking as `println!` would.
pub(crate) fn out(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing the output failed: {e}");
        std::process::exit(1);
    }
}

/// The change `vi update --add/--remove/--rename` asks for.
pub(crate) fn change_arg(
    add: &Option<String>,
    remove: &Option<String>,
    rename: &Option<String>,
    allow_shared: bool,
) -> Result<IntegrationChange, Failure> {
    let list = |l: &Option<String>| -> Result<Vec<_>, Failure> {
        Ok(l.as_deref()
            .map(accounts_arg)
            .transpose()?
            .unwrap_or_default())
    };
    Ok(IntegrationChange {
        add: list(add)?,
        remove: list(remove)?,
        rename: rename.clone(),
        allow_shared,
    })
}

pub(crate) fn accounts_arg(list: &str) -> Result<Vec<costcarve_core::account::AccountId>, Failure> {
    parse_account_list(list).map_err(|e| Invalid(e).into())
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Demo {
            dir,
            rows,
            seed,
            end_month,
        } => demo_cmd(dir, *rows, *seed, end_month.as_deref()),
        Command::Connection(cmd) => {
            let dirs = Dirs::resolve(cli.config_dir.clone(), cli.data_dir.clone())?;
            connection_cmd::run(&dirs, cmd).await
        }
        Command::Accounts { json, refresh } => match open(&cli).await? {
            Workspace::Local(ws) => {
                accounts_cmd(ws.organization(), &ws.integrations().memberships(), *json)
            }
            Workspace::Aws(mut ws) => {
                let bar = progress_bar();
                let snapshot = ws
                    .organization(*refresh, &|p| {
                        bar.set_message(match p {
                            Progress::Accounts(n) => format!("{n} accounts listed"),
                            Progress::Units(n) => format!("{n} organizational units"),
                            Progress::Tags(n, of) => format!("tags of {n}/{of} accounts"),
                        });
                        bar.tick();
                    })
                    .await?;
                bar.finish_and_clear();
                ws.sync().await?;
                let members = integration_set(&ws).memberships();
                eprintln!(
                    "organization {} as of {} ({} accounts, {} units; read in {} ms with {} Organizations calls){}",
                    snapshot.organization.id,
                    snapshot.fetched_at.to_rfc3339(),
                    snapshot.organization.accounts.len(),
                    snapshot.organization.units.len(),
                    snapshot.millis,
                    snapshot.calls,
                    if *refresh { "" } else { "; --refresh reads it again" }
                );
                accounts_cmd(&snapshot.organization, &members, *json)
            }
        },
        Command::Vi(cmd) => match open(&cli).await? {
            Workspace::Local(mut ws) => vi_cmd(&mut ws, cmd).await,
            Workspace::Aws(mut ws) => aws_vi_cmd(&mut ws, cmd).await,
        },
        Command::Cost(args) => {
            let mut ws = open(&cli).await?;
            cost_cmd(&mut ws, args).await
        }
        Command::Forecast {
            name,
            to,
            granularity,
            metric,
            json,
        } => {
            let Workspace::Aws(mut ws) = open(&cli).await? else {
                return Err(invalid(
                    "forecasts come from Cost Explorer: use --connection NAME".into(),
                ));
            };
            let granularity: Granularity = granularity.parse().map_err(Invalid)?;
            let metric: Metric = metric.parse().map_err(Invalid)?;
            let (forecast, usage) = ws.forecast(name, *to, granularity, metric).await?;
            eprintln!(
                "Cost Explorer requests: {} (USD {:.2})",
                usage.requests,
                usage.requests as f64 * 0.01
            );
            if *json {
                return print_json(&forecast);
            }
            let rows: Vec<Vec<Option<String>>> = forecast
                .points
                .iter()
                .map(|p| {
                    vec![
                        Some(p.period.to_string()),
                        Some(format!("{:.2}", p.mean)),
                        p.lower.map(|v| format!("{v:.2}")),
                        p.upper.map(|v| format!("{v:.2}")),
                    ]
                })
                .collect();
            print_table(
                &["period", "forecast", "low", "high"].map(String::from),
                &rows,
            );
            println!("total: {:.2} USD", forecast.total);
            Ok(())
        }
        Command::Sql {
            name,
            query,
            json,
            explain,
            max_rows,
        } => {
            let result = match open(&cli).await? {
                Workspace::Local(ws) => {
                    if *explain {
                        println!("{}", ws.explain(name, query)?);
                        return Ok(());
                    }
                    ws.sql(name, query, *max_rows).await?
                }
                Workspace::Aws(mut ws) => {
                    if *explain {
                        println!("{}", ws.explain(name, query).await?);
                        return Ok(());
                    }
                    let cancel = CancellationToken::new();
                    let on_ctrl_c = cancel.clone();
                    tokio::spawn(async move {
                        if tokio::signal::ctrl_c().await.is_ok() {
                            eprintln!("stopping the query...");
                            on_ctrl_c.cancel();
                        }
                    });
                    let answer = ws.sql(name, query, *max_rows, &cancel).await?;
                    eprintln!(
                        "Athena query {}: {} bytes scanned{}",
                        answer.id,
                        answer.scanned_bytes,
                        match &answer.source {
                            ResultSource::Csv(loc) => format!("; rows read from {loc}"),
                            ResultSource::Pages => String::new(),
                        }
                    );
                    answer.result
                }
            };
            if *json {
                print_json(&result)
            } else {
                print_table(&result.columns, &result.rows);
                if result.truncated {
                    eprintln!("(only the first {max_rows} rows are shown; use --max-rows)");
                }
                Ok(())
            }
        }
        Command::Chart {
            name,
            out,
            kind,
            from,
            to,
            title,
            width,
            height,
            large,
            exclude,
        } => {
            let mut ws = open(&cli).await?;
            let kind = match kind.as_str() {
                "stacked" | "service" => ChartKind::StackedByService,
                "daily" | "line" => ChartKind::DailyLine,
                "account" | "by-account" => ChartKind::ByAccount,
                other => {
                    return Err(invalid(format!(
                        "unknown chart kind '{other}': use stacked, daily or account"
                    )))
                }
            };
            let today = SystemClock.now().date_naive();
            let to = to.unwrap_or(today + Duration::days(1));
            let from = from.unwrap_or_else(|| match kind {
                ChartKind::DailyLine => to - Duration::days(30),
                _ => {
                    let mut m = first_of_month(today);
                    for _ in 0..12 {
                        m = first_of_month(m - Duration::days(1));
                    }
                    m
                }
            });
            let vi = ws.integration_name(name).await?;
            let mut q = CostQuery::new(vi.clone(), from, to);
            match kind {
                ChartKind::StackedByService => q.group_by = vec![Dimension::Service],
                ChartKind::DailyLine => {
                    q.granularity = Granularity::Daily;
                    q.group_by = vec![Dimension::Service];
                }
                ChartKind::ByAccount => q.group_by = vec![Dimension::Account],
            }
            q.exclude_line_item_types = match (exclude, kind) {
                (Some(list), _) => list_arg(list),
                (None, ChartKind::DailyLine) => NON_USAGE_LINE_ITEM_TYPES
                    .iter()
                    .map(|t| t.to_string())
                    .collect(),
                (None, _) => BTreeSet::new(),
            };
            q.validate().map_err(Invalid)?;
            let series = ws.cost(&q).await?;
            let title = title.clone().unwrap_or_else(|| match kind {
                ChartKind::StackedByService => format!("{vi}: monthly cost by service"),
                ChartKind::DailyLine => format!("{vi}: daily cost"),
                ChartKind::ByAccount => format!("{vi}: cost by account"),
            });
            let opts = ChartOptions::new(kind, title)
                .with_size(*width, *height)
                .with_large_type(*large);
            costcarve_charts::render_to_file(&series, &opts, out).map_err(|e| Failure {
                code: ErrorCode::InvalidInput,
                error: e.into(),
            })?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
    }
}

fn progress_bar() -> ProgressBar {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    }
}

fn integration_set(ws: &AwsWorkspace) -> IntegrationSet {
    IntegrationSet {
        version: 1,
        integrations: ws
            .integrations()
            .iter()
            .map(|m| m.integration.clone())
            .collect(),
    }
}

fn demo_cmd(dir: &Path, rows: u64, seed: u64, end_month: Option<&str>) -> Result<(), Failure> {
    let today = SystemClock.now().date_naive();
    let last = match end_month {
        None => today,
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .map_err(|_| invalid(format!("--end-month '{m}' is not a month: use YYYY-MM")))?,
    };
    if rows == 0 {
        return Err(invalid("--rows must be at least 1".into()));
    }
    let mut spec = DemoSpec::new(rows, seed, last);
    if end_month.is_none() {
        // The open month has data up to today, as a real bill does.
        spec.data_until = Some(today);
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(u64::from(demo::MONTHS));
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} months  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let summary = demo::generate(dir, &spec, |p| {
        bar.set_position(u64::from(p.months_done));
        bar.set_message(format!("{} rows", p.rows_done));
    })?;
    bar.finish_and_clear();
    println!(
        "demo workspace in {}: {} accounts in {} units, {} CUR rows in {} billing periods ({} to {})",
        dir.display(),
        summary.accounts,
        summary.units,
        summary.rows,
        summary.files,
        summary.billing_periods.first().map(String::as_str).unwrap_or("-"),
        summary.billing_periods.last().map(String::as_str).unwrap_or("-"),
    );
    Ok(())
}

fn accounts_cmd(
    org: &Organization,
    memberships: &BTreeMap<AccountId, Vec<String>>,
    json: bool,
) -> Result<(), Failure> {
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
            integrations: memberships.get(&a.id).cloned().unwrap_or_default(),
        })
        .collect();
    if json {
        return print_json(&rows);
    }
    let table: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            vec![
                Some(r.id.to_string()),
                Some(r.name.to_string()),
                Some(r.unit.clone()),
                Some(
                    r.tags
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Some(r.integrations.join(", ")),
            ]
        })
        .collect();
    print_table(
        &["id", "name", "unit", "tags", "integrations"].map(String::from),
        &table,
    );
    Ok(())
}

async fn vi_cmd(ws: &mut LocalWorkspace, cmd: &ViCommand) -> Result<(), Failure> {
    match cmd {
        ViCommand::Create {
            name,
            accounts,
            allow_shared,
        } => {
            let vi = ws
                .create_integration(NewIntegration {
                    name: name.clone(),
                    accounts: accounts_arg(accounts)?,
                    allow_shared: *allow_shared,
                })
                .await?;
            println!(
                "created '{}' with {} accounts (view {})",
                vi.name,
                vi.accounts.len(),
                vi.view_name()
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
            let (vi, diff) = ws.update_integration(name, change).await?;
            println!(
                "updated '{}': {} accounts (+{} -{})",
                vi.name,
                vi.accounts.len(),
                diff.added.len(),
                diff.removed.len()
            );
        }
        ViCommand::Delete { name } => {
            let vi = ws.delete_integration(name).await?;
            println!("deleted '{}' and its view {}", vi.name, vi.view_name());
        }
        ViCommand::List { json } => {
            let list = &ws.integrations().integrations;
            if *json {
                return print_json(list);
            }
            let rows: Vec<Vec<Option<String>>> = list
                .iter()
                .map(|v| {
                    vec![
                        Some(v.name.to_string()),
                        Some(v.accounts.len().to_string()),
                        Some(v.view_name()),
                        Some(v.updated_at.to_rfc3339()),
                    ]
                })
                .collect();
            print_table(
                &["name", "accounts", "view", "updated"].map(String::from),
                &rows,
            );
        }
        ViCommand::Repair { .. } | ViCommand::DropOrphan { .. } => {
            return Err(invalid(
                "a local workspace has nothing to repair: repair is for integrations in a payer (--connection)".into(),
            ))
        }
        ViCommand::Show { name, json } => {
            let vi = ws.integration(name)?.clone();
            if *json {
                return print_json(&vi);
            }
            let org = ws.organization();
            println!("name:     {}", vi.name);
            println!("id:       {}", vi.id);
            println!("view:     {}", vi.view_name());
            println!("revision: {}", vi.revision);
            println!("updated:  {}", vi.updated_at.to_rfc3339());
            println!("accounts: {}", vi.accounts.len());
            for a in &vi.accounts {
                let name = org.account(a).map(|x| x.name.as_str()).unwrap_or("?");
                println!("  {a}  {name}");
            }
        }
    }
    Ok(())
}

async fn cost_cmd(ws: &mut Workspace, args: &CostArgs) -> Result<(), Failure> {
    let granularity: Granularity = args.granularity.parse().map_err(Invalid)?;
    let metric: Metric = args.metric.parse().map_err(Invalid)?;
    let group_by: Vec<Dimension> = args
        .group_by
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(Invalid)?;
    let exclude = list_arg(args.exclude.as_deref().unwrap_or(""));
    let vi = ws.integration_name(&args.name).await?;
    let q = CostQuery {
        integration: vi,
        from: args.from,
        to: args.to,
        granularity,
        group_by,
        metric,
        exclude_line_item_types: exclude,
    };
    q.validate().map_err(Invalid)?;
    let series = ws.cost(&q).await?;
    if args.json {
        return print_json(&series);
    }
    let mut header = vec!["period".to_string()];
    header.extend(q.group_by.iter().map(|d| d.label()));
    header.push(format!("{:?} ({})", q.metric, series.currency));
    let rows: Vec<Vec<Option<String>>> = series
        .points
        .iter()
        .map(|p| {
            let mut r = vec![Some(p.period.to_string())];
            r.extend(p.keys.iter().cloned().map(Some));
            r.push(Some(format!("{:.2}", p.amount)));
            r
        })
        .collect();
    print_table(&header, &rows);
    println!("total: {:.2} {}", series.total, series.currency);
    Ok(())
}

fn list_arg(list: &str) -> BTreeSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub(crate) fn print_table(header: &[String], rows: &[Vec<Option<String>>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            let n = c.as_deref().unwrap_or("NULL").chars().count();
            if i < widths.len() {
                widths[i] = widths[i].max(n).min(60);
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out(&line(header.iter().map(String::as_str).collect()));
    for r in rows {
        out(&line(
            r.iter().map(|c| c.as_deref().unwrap_or("NULL")).collect(),
        ));
    }
}

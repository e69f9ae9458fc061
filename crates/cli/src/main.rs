//! `costcarve`: the product's operations on the command line — demo data,
//! accounts, virtual integrations, cost queries, confined SQL and charts —
//! over the same core the desktop app uses.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use costcarve_charts::{ChartKind, ChartOptions};
use costcarve_core::account::parse_account_list;
use costcarve_core::cost::{
    first_of_month, CostQuery, Dimension, Granularity, Metric, NON_USAGE_LINE_ITEM_TYPES,
};
use costcarve_core::error::{Coded, ErrorCode};
use costcarve_core::integration::{IntegrationChange, NewIntegration};
use costcarve_core::ports::{Clock, SystemClock};
use costcarve_local::demo::{self, DemoSpec};
use costcarve_local::{LocalError, LocalWorkspace};

#[derive(Parser)]
#[command(
    name = "costcarve",
    version,
    about = "Carve per-customer cost views out of an AWS payer's bill"
)]
struct Cli {
    /// The local workspace folder (a demo, or CUR Parquet copied from S3).
    #[arg(long, global = true, env = "COSTCARVE_WORKSPACE")]
    workspace: Option<PathBuf>,
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
    /// List the organization's accounts.
    Accounts {
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
struct Failure {
    code: ErrorCode,
    error: anyhow::Error,
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

struct Invalid<E>(E);

fn other(e: anyhow::Error) -> Failure {
    Failure {
        code: ErrorCode::Io,
        error: e,
    }
}

fn invalid(msg: String) -> Failure {
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

fn workspace_dir(cli: &Cli) -> Result<&Path, Failure> {
    cli.workspace.as_deref().ok_or_else(|| {
        invalid("no workspace: pass --workspace DIR (or set COSTCARVE_WORKSPACE); create one with `costcarve demo --dir DIR`".into())
    })
}

async fn open(cli: &Cli) -> Result<LocalWorkspace, Failure> {
    let dir = workspace_dir(cli)?;
    Ok(LocalWorkspace::open(dir, Arc::new(SystemClock)).await?)
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| other(e.into()))?;
    println!("{text}");
    Ok(())
}

fn accounts_arg(list: &str) -> Result<Vec<costcarve_core::account::AccountId>, Failure> {
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
        Command::Accounts { json } => {
            let ws = open(&cli).await?;
            accounts_cmd(&ws, *json)
        }
        Command::Vi(cmd) => {
            let mut ws = open(&cli).await?;
            vi_cmd(&mut ws, cmd).await
        }
        Command::Cost(args) => {
            let ws = open(&cli).await?;
            cost_cmd(&ws, args).await
        }
        Command::Sql {
            name,
            query,
            json,
            explain,
            max_rows,
        } => {
            let ws = open(&cli).await?;
            if *explain {
                println!("{}", ws.explain(name, query)?);
                return Ok(());
            }
            let result = ws.sql(name, query, *max_rows).await?;
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
            let ws = open(&cli).await?;
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
            let vi = ws.integration(name)?.name.to_string();
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

fn accounts_cmd(ws: &LocalWorkspace, json: bool) -> Result<(), Failure> {
    let org = ws.organization();
    let memberships = ws.integrations().memberships();
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
            let change = IntegrationChange {
                add: add
                    .as_deref()
                    .map(accounts_arg)
                    .transpose()?
                    .unwrap_or_default(),
                remove: remove
                    .as_deref()
                    .map(accounts_arg)
                    .transpose()?
                    .unwrap_or_default(),
                rename: rename.clone(),
                allow_shared: *allow_shared,
            };
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

async fn cost_cmd(ws: &LocalWorkspace, args: &CostArgs) -> Result<(), Failure> {
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
    let vi = ws.integration(&args.name)?.name.to_string();
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

fn print_table(header: &[String], rows: &[Vec<Option<String>>]) {
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
    println!("{}", line(header.iter().map(String::as_str).collect()));
    for r in rows {
        println!(
            "{}",
            line(r.iter().map(|c| c.as_deref().unwrap_or("NULL")).collect())
        );
    }
}

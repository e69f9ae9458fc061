//! The command line's flags (clap), as the user types them.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "costcarve",
    version,
    about = "Carve per-customer cost views out of an AWS payer's bill"
)]
pub(crate) struct Cli {
    /// The local workspace folder (a demo, or CUR Parquet copied from S3).
    #[arg(
        long,
        global = true,
        env = "COSTCARVE_WORKSPACE",
        conflicts_with = "connection"
    )]
    pub(crate) workspace: Option<PathBuf>,
    /// Work on a payer through this connection (see `costcarve connection`).
    #[arg(long, global = true, env = "COSTCARVE_CONNECTION")]
    pub(crate) connection: Option<String>,
    /// Where connections are saved (default: the OS config folder).
    #[arg(long, global = true, env = "COSTCARVE_CONFIG_DIR")]
    pub(crate) config_dir: Option<PathBuf>,
    /// Where this desktop keeps its caches and journal (default: the OS data folder).
    #[arg(long, global = true, env = "COSTCARVE_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create a demo workspace: an organization and 13 months of CUR data.
    Demo {
        /// Folder to create it in.
        #[arg(long)]
        dir: PathBuf,
        /// Approximate number of CUR rows.
        #[arg(long, default_value_t = costcarve_ops::demo::DEFAULT_ROWS)]
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
    Connection(ConnectionCommand),
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
        /// Stop the query after this many seconds (default: 60 on the local
        /// engine, 1800 on Athena).
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: Option<u64>,
    },
    /// Make one customer's review pack for a month: a PDF, one PNG per
    /// chart and one CSV per table, on the integration's presentation
    /// profile (see `vi profile`). On AWS it says first what it will spend.
    Review {
        /// The integration.
        name: String,
        /// The month, YYYY-MM (default: the last closed month).
        #[arg(long)]
        month: Option<String>,
        /// Folder to write the files into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Print JSON: the files and what the figures cost to produce.
        #[arg(long)]
        json: bool,
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
pub(crate) enum ViCommand {
    /// Create an integration from rules: OUs (each with its subtree),
    /// account tags and ids, minus exclusions. At least one of --ou, --tag
    /// or --accounts.
    Create {
        /// Its name.
        name: String,
        /// An OU, by id (ou-...) or path (Customers/Acme), with everything
        /// below it; repeat for several.
        #[arg(long = "ou", value_name = "OU")]
        units: Vec<String>,
        /// Accounts carrying this tag (KEY=VALUE); repeat for several.
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        /// Comma-separated account ids to include.
        #[arg(long)]
        accounts: Option<String>,
        /// Comma-separated account ids never to include.
        #[arg(long)]
        exclude: Option<String>,
        /// Allow accounts that are already in another integration.
        #[arg(long)]
        allow_shared: bool,
        /// Print what it would hold, the view DDL and the billing view
        /// filter creating it would send, and create nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Change an integration's rules or accounts, or rename it.
    Update {
        /// The integration.
        name: String,
        /// Account ids to add (an excluded one is no longer excluded).
        #[arg(long)]
        add: Option<String>,
        /// Account ids to remove (one an OU or tag rule names is excluded).
        #[arg(long)]
        remove: Option<String>,
        /// An OU rule to add (id or path); repeat for several.
        #[arg(long, value_name = "OU")]
        add_ou: Vec<String>,
        /// An OU rule to drop; repeat for several.
        #[arg(long, value_name = "OU")]
        remove_ou: Vec<String>,
        /// A tag rule to add (KEY=VALUE); repeat for several.
        #[arg(long, value_name = "KEY=VALUE")]
        add_tag: Vec<String>,
        /// A tag rule to drop; repeat for several.
        #[arg(long, value_name = "KEY=VALUE")]
        remove_tag: Vec<String>,
        /// New name.
        #[arg(long)]
        rename: Option<String>,
        /// Allow added accounts that are already in another integration.
        #[arg(long)]
        allow_shared: bool,
    },
    /// Read the organization again and bring integrations whose rules now
    /// name other accounts up to date (both views, as an update does).
    Sync {
        /// Only this integration.
        name: Option<String>,
        /// Show what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create many integrations at once: from a CSV (columns name, ous,
    /// tags, accounts, exclude, allow_shared; see the README), or one per
    /// child OU of --from-ou. Every row is checked before anything is made.
    Import {
        /// The CSV file.
        #[arg(required_unless_present = "from_ou", conflicts_with = "from_ou")]
        file: Option<PathBuf>,
        /// One integration per OU directly below this one (id or path),
        /// named after it and holding its subtree.
        #[arg(long, value_name = "OU")]
        from_ou: Option<String>,
        /// Check every row and show what would be made; make nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Share the integration's billing view with some of its own accounts
    /// (a customer's own AWS accounts then see exactly its costs in their
    /// Cost Explorer), through one AWS RAM resource share; AWS only.
    Share {
        /// The integration.
        name: String,
        /// Comma-separated account ids, each a member of the integration.
        #[arg(long = "with", value_name = "IDS")]
        with: String,
    },
    /// Stop sharing the integration's billing view with these accounts.
    Unshare {
        /// The integration.
        name: String,
        /// Comma-separated account ids.
        #[arg(long = "with", value_name = "IDS")]
        with: String,
    },
    /// Set how an integration is shown to its customer: the name on slides
    /// and packs, the cost basis and the line item types left out. Flags
    /// not given keep their value; saved with the integration (on AWS as
    /// tags on its billing view, so every desktop on the payer sees it).
    Profile {
        /// The integration.
        name: String,
        /// The customer's name as shown, e.g. "Acme Corp GmbH" (`""`: the
        /// integration's name).
        #[arg(long)]
        display_name: Option<String>,
        /// unblended, net_unblended, amortized or public_on_demand (list
        /// prices, from the CUR).
        #[arg(long)]
        basis: Option<String>,
        /// Line item types to leave out, e.g. Credit,Refund,Tax,EdpDiscount
        /// (`""`: leave nothing out).
        #[arg(long)]
        exclude: Option<String>,
        /// Back to the defaults: the integration's name, unblended, nothing
        /// left out.
        #[arg(long, conflicts_with_all = ["display_name", "basis", "exclude"])]
        clear: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    /// Show the evidence that an integration holds its accounts and nothing
    /// else (its parts read back, the accounts each path sees) and reconcile
    /// its last closed months; exit code 4 when a check fails. On AWS it
    /// makes 2 Cost Explorer requests (USD 0.02) and one Athena query.
    Verify {
        /// The integration.
        name: String,
        /// Closed months to reconcile (0 to 12).
        #[arg(long, default_value_t = 3)]
        months: u32,
        /// Print JSON: each check with `name`, `ok` and its evidence.
        #[arg(long)]
        json: bool,
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
pub(crate) struct CostArgs {
    /// The integration.
    pub(crate) name: String,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) from: NaiveDate,
    /// First day not included, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) to: NaiveDate,
    /// daily or monthly.
    #[arg(long, default_value = "monthly")]
    pub(crate) granularity: String,
    /// Up to two of service, account, region, usage_type, line_item_type, tag:KEY.
    #[arg(long)]
    pub(crate) group_by: Option<String>,
    /// unblended, net_unblended, amortized or public_on_demand (list
    /// prices, from the CUR).
    #[arg(long, default_value = "unblended")]
    pub(crate) metric: String,
    /// Line item types to leave out, e.g. Credit,Refund,Tax.
    #[arg(long)]
    pub(crate) exclude: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

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

//! What crosses to the web view. Money as decimal strings, times as ISO
//! strings, ids as strings; no secret is ever in any of these.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Which workspace is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct WorkspaceInfo {
    /// `demo`, `local` or `aws`.
    pub kind: String,
    /// What to show: the folder, or the connection's name.
    pub label: String,
    /// In an AWS workspace: the payer account.
    pub payer: Option<String>,
    /// When the organization or data was last read (ISO), if known.
    pub data_as_of: Option<String>,
    /// What opening did about operations a crash interrupted (finished or
    /// undone), one line each; empty when there were none.
    pub recovery: Vec<String>,
}

/// An organizational unit (or the root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct UnitRow {
    /// `r-...` or `ou-...`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its parent; `null` for the root.
    pub parent_id: Option<String>,
    /// `Customers/Acme/prod`.
    pub path: String,
}

/// An account, with the integrations it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct AccountRow {
    /// 12 digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, ...
    pub status: String,
    /// The unit directly above it.
    pub unit_id: String,
    /// That unit's path.
    pub unit_path: String,
    /// `key=value` tags.
    pub tags: Vec<(String, String)>,
    /// Names of the integrations it belongs to.
    pub integrations: Vec<String>,
}

/// The organization, for the account picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct OrgView {
    /// Root and units.
    pub units: Vec<UnitRow>,
    /// Accounts, by id.
    pub accounts: Vec<AccountRow>,
    /// When it was read (AWS), if known.
    pub fetched_at: Option<String>,
}

/// An integration in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IntegrationRow {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Account ids.
    pub accounts: Vec<String>,
    /// `healthy`, `provisioning`, `drift`, `needs_repair` (AWS) or `local`.
    pub status: String,
    /// What is wrong, when something is.
    pub status_detail: Option<String>,
    /// Revision.
    pub revision: u32,
    /// The SQL view's name.
    pub view_name: String,
    /// The billing view (AWS).
    pub billing_view_arn: Option<String>,
    /// Last change (ISO).
    pub updated_at: String,
    /// How its accounts are chosen.
    pub rules: RulesForm,
    /// The rules in words (`OU Customers/Acme and below`, `tag env=prod`).
    pub rules_text: Vec<String>,
    /// The customer accounts its billing view is shared with (AWS).
    pub shared_with: Vec<String>,
    /// How it is shown to its customer.
    pub profile: ProfileForm,
    /// The name shown on slides and packs (the display name, else its name).
    pub display_name: String,
    /// Its basis and exclusions in words, as every chart and pack states them.
    pub basis_words: String,
}

/// A presentation profile as the desktop shows and edits it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ProfileForm {
    /// The customer's name on slides and packs; none: the integration's name.
    pub display_name: Option<String>,
    /// `unblended`, `net_unblended`, `amortized` or `public_on_demand`.
    pub basis: String,
    /// Line item types left out (AWS's spelling, e.g. `Credit`).
    pub exclude: Vec<String>,
}

/// A choice the profile form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Choice {
    /// What is sent back (`net_unblended`, `Credit`).
    pub key: String,
    /// In words.
    pub words: String,
}

/// What the profile form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ProfileOptions {
    /// The cost bases.
    pub bases: Vec<Choice>,
    /// The line item types that may be left out.
    pub line_item_types: Vec<Choice>,
}

/// What making a review pack will spend, said before it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ReviewEstimateView {
    /// The month (`YYYY-MM`).
    pub month: String,
    /// The month in words.
    pub month_label: String,
    /// Cost Explorer requests, at least.
    pub ce_requests: u32,
    /// Athena queries (public on-demand basis).
    pub athena_queries: u32,
    /// Bytes they scan at most (decimal string).
    pub athena_bytes: String,
    /// All of it in words.
    pub words: String,
}

/// The files a review pack was written to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ReviewFiles {
    /// The folder.
    pub dir: String,
    /// The PDF.
    pub pdf: String,
    /// One PNG per chart.
    pub pngs: Vec<String>,
    /// One CSV per table.
    pub csvs: Vec<String>,
    /// What the figures cost to produce, in words.
    pub spent: String,
}

/// Membership rules as the desktop shows and edits them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RulesForm {
    /// OUs by id or path, each with everything below it.
    pub units: Vec<String>,
    /// Account tags, `KEY=VALUE`.
    pub tags: Vec<String>,
    /// Accounts included by id.
    pub accounts: Vec<String>,
    /// Accounts never included.
    pub exclude: Vec<String>,
    /// Accounts already in another integration may be in this one too.
    pub allow_shared: bool,
}

/// An account the rules name but leave out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct LeftOutRow {
    /// The account.
    pub account: String,
    /// Its name, when the organization knows it.
    pub name: String,
    /// Why, in words.
    pub reason: String,
}

/// What rules resolve to now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RulesPreview {
    /// The members.
    pub accounts: Vec<String>,
    /// Named but left out.
    pub left_out: Vec<LeftOutRow>,
    /// The rules in words.
    pub rules_text: Vec<String>,
}

/// What a sync would change in one integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SyncRow {
    /// The integration.
    pub name: String,
    /// Accounts it would gain.
    pub added: Vec<String>,
    /// Accounts it would drop.
    pub removed: Vec<String>,
    /// Named by its rules but left out.
    pub left_out: Vec<LeftOutRow>,
    /// Why it cannot be synced, if so.
    pub problem: Option<String>,
}

/// Every integration against the organization read just now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SyncPlanView {
    /// How many would change.
    pub out_of_date: u32,
    /// Those that would change or cannot be synced.
    pub changes: Vec<SyncRow>,
}

/// How one integration's sync ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SyncOutcomeRow {
    /// The integration.
    pub name: String,
    /// Brought up to date.
    pub applied: bool,
    /// Why not.
    pub error: Option<String>,
}

/// What to import: a CSV's text, or one integration per child OU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ImportSource {
    /// The CSV (columns as in the README).
    pub csv: Option<String>,
    /// The parent OU (id or path), e.g. `Customers`.
    pub from_ou: Option<String>,
}

/// A row of an import, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ImportPlanRow {
    /// CSV line, or the OU's position.
    pub line: u32,
    /// The integration's name.
    pub name: String,
    /// Its rules in words.
    pub rules_text: Vec<String>,
    /// Accounts it will hold.
    pub accounts: u32,
    /// Named but left out.
    pub left_out: Vec<LeftOutRow>,
    /// `create` or `unchanged`.
    pub action: String,
}

/// How a row of an import ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ImportOutcomeRow {
    /// CSV line, or the OU's position.
    pub line: u32,
    /// The integration's name.
    pub name: String,
    /// `created`, `unchanged` or `failed`.
    pub outcome: String,
    /// Its accounts.
    pub accounts: u32,
    /// Why it failed (nothing of it was left).
    pub error: Option<String>,
}

/// An import under way (or the last one): the rows finished so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ImportProgress {
    /// Still running.
    pub running: bool,
    /// Rows it makes.
    pub total: u32,
    /// Rows finished, in the order they finished.
    pub outcomes: Vec<ImportOutcomeRow>,
}

/// Exactly what creating or changing an integration will make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IntegrationPlan {
    /// The name.
    pub name: String,
    /// Accounts it will have.
    pub accounts: Vec<String>,
    /// Accounts added compared with now (all, for a new one).
    pub added: Vec<String>,
    /// Accounts removed compared with now.
    pub removed: Vec<String>,
    /// The view's DDL.
    pub view_sql: String,
    /// The billing view's filter (JSON), or a note in a local workspace.
    pub billing_filter: String,
}

/// A chart request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ChartRequest {
    /// The integration.
    pub integration: String,
    /// `stacked` (monthly by service), `daily` or `account`.
    pub kind: String,
    /// First day (YYYY-MM-DD); default depends on the kind.
    pub from: Option<String>,
    /// First day not included; default tomorrow.
    pub to: Option<String>,
    /// Group by: `service`, `account`, `region`, ... (default per kind).
    pub group_by: Option<String>,
    /// Large type for projectors.
    pub large: bool,
    /// Width to draw at, in pixels (default 1100): the width it is shown
    /// at, so its text is not scaled down.
    pub width: Option<u32>,
    /// Height to draw at, in pixels (default 560).
    pub height: Option<u32>,
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PointRow {
    /// First day of the bucket.
    pub period: String,
    /// Group keys.
    pub keys: Vec<String>,
    /// The keys as customers read them (services by the names AWS's console
    /// uses).
    pub labels: Vec<String>,
    /// Amount (decimal string).
    pub amount: String,
}

/// A drawn chart and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ChartView {
    /// The SVG, drawn by the core.
    pub svg: String,
    /// The points.
    pub points: Vec<PointRow>,
    /// Their total (decimal string).
    pub total: String,
    /// Currency.
    pub currency: String,
    /// First day.
    pub from: String,
    /// First day not included.
    pub to: String,
    /// When the data was written (local: the newest CUR file) or read from
    /// Cost Explorer (AWS; cached closed months keep their first read), ISO.
    pub data_as_of: Option<String>,
    /// AWS: Cost Explorer requests this chart made.
    pub ce_requests: Option<u32>,
    /// AWS: requests made through the connection so far.
    pub ce_requests_total: Option<u32>,
    /// The basis and exclusions in words (also drawn on the chart).
    pub basis_words: String,
    /// The total with thousands separators and the currency.
    pub total_text: String,
}

/// A service's change from one month to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Mover {
    /// The service (the CUR's or Cost Explorer's key).
    pub service: String,
    /// The service as customers know it (`Amazon EC2`).
    pub label: String,
    /// Cost in the earlier month.
    pub previous: String,
    /// Cost in the later month.
    pub current: String,
    /// `current - previous`.
    pub change: String,
}

/// Top movers between two months.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct MoversView {
    /// Earlier month (YYYY-MM).
    pub previous_month: String,
    /// Later month (YYYY-MM).
    pub current_month: String,
    /// Largest absolute changes first.
    pub movers: Vec<Mover>,
    /// The amounts' currency.
    pub currency: String,
}

/// A query's rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct QueryRows {
    /// Column names.
    pub columns: Vec<String>,
    /// Cells as text, `null` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// More rows existed than were kept.
    pub truncated: bool,
    /// The text that ran (after the guard).
    pub executed_sql: String,
}

/// A saved connection (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ConnectionRow {
    /// Name.
    pub name: String,
    /// `profile NAME`, `default credentials` or `access keys in the OS keyring`.
    pub credentials: String,
    /// Region.
    pub region: Option<String>,
    /// Role assumed.
    pub role_arn: Option<String>,
    /// `db.table`.
    pub cur_table: String,
    /// Workgroup.
    pub workgroup: String,
    /// `s3://...`.
    pub results: String,
    /// Views database.
    pub views_database: String,
}

/// A new connection, as typed in the form. The secret key goes to the OS
/// keyring and is never sent back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Type)]
pub struct ConnectionForm {
    /// Name.
    pub name: String,
    /// Profile (else the default chain, or keys).
    pub profile: Option<String>,
    /// Access key id (with `secret_access_key`).
    pub access_key_id: Option<String>,
    /// Secret access key: straight to the keyring.
    pub secret_access_key: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Role to assume.
    pub role_arn: Option<String>,
    /// External id.
    pub external_id: Option<String>,
    /// `db.table`.
    pub cur_table: String,
    /// Workgroup.
    pub workgroup: String,
    /// `s3://bucket/prefix/`.
    pub results: String,
    /// Views database (default `costcarve_views`).
    pub views_database: Option<String>,
}

/// One prerequisite check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct CheckRow {
    /// What was checked.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it.
    pub fix: Option<String>,
    /// Needed only by an optional feature (sharing): a failure does not
    /// stop provisioning.
    pub optional: bool,
}

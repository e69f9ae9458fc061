//! CostCarve's desktop shell: Tauri commands of a few lines, each calling one
//! operation of [`costcarve_ops::Session`]. The TypeScript bindings the web
//! view uses are generated from these signatures (`ui/src/bindings.ts`,
//! committed; `tests/bindings.rs` fails when they drift).

use std::sync::Arc;

use costcarve_core::ports::SystemClock;
use costcarve_core::verification::Verification;
use costcarve_ops::{
    ChartRequest, ChartView, CheckRow, ConnectionForm, ConnectionRow, Dirs, ImportOutcomeRow,
    ImportPlanRow, ImportProgress, ImportSource, IntegrationPlan, IntegrationRow, IpcError,
    MoversView, OrgView, ProfileForm, ProfileOptions, QueryRows, ReviewEstimateView, ReviewFiles,
    RulesForm, RulesPreview, Session, SyncOutcomeRow, SyncPlanView, WorkspaceInfo,
};
use costcarve_review::ReviewPack;
use tauri::State;

type Reply<T> = Result<T, IpcError>;

fn reply<T>(r: Result<T, costcarve_ops::OpsError>) -> Reply<T> {
    r.map_err(IpcError::from)
}

/// The open workspace (the demo on first start).
#[tauri::command]
#[specta::specta]
async fn workspace(session: State<'_, Session>) -> Reply<WorkspaceInfo> {
    reply(session.workspace().await)
}

/// Opens the demo workspace.
#[tauri::command]
#[specta::specta]
async fn open_demo(session: State<'_, Session>) -> Reply<WorkspaceInfo> {
    reply(session.open_demo().await)
}

/// Opens a local folder.
#[tauri::command]
#[specta::specta]
async fn open_folder(session: State<'_, Session>, path: String) -> Reply<WorkspaceInfo> {
    reply(session.open_folder(&path).await)
}

/// Opens a payer through a connection.
#[tauri::command]
#[specta::specta]
async fn open_connection(session: State<'_, Session>, name: String) -> Reply<WorkspaceInfo> {
    reply(session.open_connection(&name).await)
}

/// The organization for the account picker.
#[tauri::command]
#[specta::specta]
async fn organization(session: State<'_, Session>, refresh: bool) -> Reply<OrgView> {
    reply(session.organization(refresh).await)
}

/// The integrations with their status.
#[tauri::command]
#[specta::specta]
async fn integrations(session: State<'_, Session>) -> Reply<Vec<IntegrationRow>> {
    reply(session.integrations().await)
}

/// What a create or an edit will make.
#[tauri::command]
#[specta::specta]
async fn plan_integration(
    session: State<'_, Session>,
    name: String,
    accounts: Vec<String>,
    existing: Option<String>,
) -> Reply<IntegrationPlan> {
    reply(session.plan(&name, &accounts, existing.as_deref()).await)
}

/// Creates an integration.
#[tauri::command]
#[specta::specta]
async fn create_integration(
    session: State<'_, Session>,
    name: String,
    accounts: Vec<String>,
    allow_shared: bool,
) -> Reply<IntegrationRow> {
    reply(
        session
            .create_integration(&name, &accounts, allow_shared)
            .await,
    )
}

/// Sets an integration's accounts (and name).
#[tauri::command]
#[specta::specta]
async fn update_integration(
    session: State<'_, Session>,
    name: String,
    accounts: Vec<String>,
    rename: Option<String>,
    allow_shared: bool,
) -> Reply<IntegrationRow> {
    reply(
        session
            .update_integration(&name, &accounts, rename, allow_shared)
            .await,
    )
}

/// What membership rules resolve to now (makes nothing).
#[tauri::command]
#[specta::specta]
async fn resolve_rules(
    session: State<'_, Session>,
    name: String,
    rules: RulesForm,
    existing: Option<String>,
) -> Reply<RulesPreview> {
    reply(
        session
            .resolve_rules(&name, &rules, existing.as_deref())
            .await,
    )
}

/// Creates an integration from membership rules.
#[tauri::command]
#[specta::specta]
async fn create_integration_rules(
    session: State<'_, Session>,
    name: String,
    rules: RulesForm,
) -> Reply<IntegrationRow> {
    reply(session.create_integration_rules(&name, &rules).await)
}

/// Replaces an integration's membership rules (and renames it).
#[tauri::command]
#[specta::specta]
async fn update_integration_rules(
    session: State<'_, Session>,
    name: String,
    rules: RulesForm,
    rename: Option<String>,
) -> Reply<IntegrationRow> {
    reply(
        session
            .update_integration_rules(&name, &rules, rename)
            .await,
    )
}

/// Which integrations the organization, read again, puts out of date.
#[tauri::command]
#[specta::specta]
async fn sync_plan(session: State<'_, Session>) -> Reply<SyncPlanView> {
    reply(session.sync_plan().await)
}

/// Brings the out-of-date integrations up to date.
#[tauri::command]
#[specta::specta]
async fn apply_sync(session: State<'_, Session>) -> Reply<Vec<SyncOutcomeRow>> {
    reply(session.apply_sync().await)
}

/// Checks an import's rows (makes nothing).
#[tauri::command]
#[specta::specta]
async fn import_preview(
    session: State<'_, Session>,
    source: ImportSource,
) -> Reply<Vec<ImportPlanRow>> {
    reply(session.import_preview(&source).await)
}

/// Runs an import; `import_progress` tells how far it is meanwhile.
#[tauri::command]
#[specta::specta]
async fn run_import(
    session: State<'_, Session>,
    source: ImportSource,
) -> Reply<Vec<ImportOutcomeRow>> {
    reply(session.run_import(&source).await)
}

/// The rows of the import under way finished so far.
#[tauri::command]
#[specta::specta]
fn import_progress(session: State<'_, Session>) -> ImportProgress {
    session.import_progress()
}

/// Shares an integration's billing view with some of its own accounts
/// (`add`), or stops sharing it with them.
#[tauri::command]
#[specta::specta]
async fn share_integration(
    session: State<'_, Session>,
    name: String,
    accounts: Vec<String>,
    add: bool,
) -> Reply<IntegrationRow> {
    reply(session.share_integration(&name, &accounts, add).await)
}

/// Deletes an integration.
#[tauri::command]
#[specta::specta]
async fn delete_integration(session: State<'_, Session>, name: String) -> Reply<()> {
    reply(session.delete_integration(&name).await)
}

/// Repairs an integration (AWS).
#[tauri::command]
#[specta::specta]
async fn repair_integration(session: State<'_, Session>, name: String) -> Reply<IntegrationRow> {
    reply(session.repair_integration(&name).await)
}

/// Athena views of CostCarve's whose billing view is gone (AWS).
#[tauri::command]
#[specta::specta]
async fn orphan_views(session: State<'_, Session>) -> Reply<Vec<String>> {
    reply(session.orphan_views().await)
}

/// Drops an Athena view no billing view owns (AWS).
#[tauri::command]
#[specta::specta]
async fn drop_orphan_view(session: State<'_, Session>, view: String) -> Reply<()> {
    reply(session.drop_orphan_view(&view).await)
}

/// Cost Explorer requests verifying will make (AWS); `null` locally.
#[tauri::command]
#[specta::specta]
async fn verify_requests(session: State<'_, Session>) -> Reply<Option<u32>> {
    reply(session.verify_requests().await)
}

/// Verifies an integration: its parts, the accounts each path sees, and
/// its last closed months reconciled.
#[tauri::command]
#[specta::specta]
async fn verify_integration(
    session: State<'_, Session>,
    name: String,
    months: u32,
) -> Reply<Verification> {
    reply(session.verify(&name, months).await)
}

/// A cost chart.
#[tauri::command]
#[specta::specta]
async fn chart(session: State<'_, Session>, request: ChartRequest) -> Reply<ChartView> {
    reply(session.chart(&request).await)
}

/// Top movers month over month.
#[tauri::command]
#[specta::specta]
async fn movers(session: State<'_, Session>, integration: String) -> Reply<MoversView> {
    reply(session.movers(&integration).await)
}

/// Runs confined SQL, stopped after `timeout_seconds` (the engine's
/// default when `null`).
#[tauri::command]
#[specta::specta]
async fn run_query(
    session: State<'_, Session>,
    integration: String,
    sql: String,
    max_rows: u32,
    timeout_seconds: Option<u32>,
) -> Reply<QueryRows> {
    reply(
        session
            .query_within(&integration, &sql, max_rows, timeout_seconds)
            .await,
    )
}

/// Stops the running query.
#[tauri::command]
#[specta::specta]
fn cancel_query(session: State<'_, Session>) -> bool {
    session.cancel_query()
}

/// Asks where to save (a native dialog) and writes the chart there as
/// `svg`, `png` or `csv`; `null` when the user cancelled.
#[tauri::command]
#[specta::specta]
async fn export_chart(
    app: tauri::AppHandle,
    session: State<'_, Session>,
    request: ChartRequest,
    format: String,
) -> Reply<Option<String>> {
    let name = format!("{}-{}.{format}", request.integration, request.kind);
    let Some(path) = save_path::ask(&app, &name, &format).await else {
        return Ok(None);
    };
    reply(session.export_chart(&request, &format, &path).await)?;
    Ok(Some(path))
}

/// Asks where to save and writes a query's rows as CSV; `null` when cancelled.
#[tauri::command]
#[specta::specta]
async fn export_query(
    app: tauri::AppHandle,
    session: State<'_, Session>,
    integration: String,
    sql: String,
) -> Reply<Option<String>> {
    let Some(path) = save_path::ask(&app, &format!("{integration}-query.csv"), "csv").await else {
        return Ok(None);
    };
    reply(session.export_query_csv(&integration, &sql, &path).await)?;
    Ok(Some(path))
}

/// The cost bases and line item types a presentation profile offers.
#[tauri::command]
#[specta::specta]
fn profile_options(session: State<'_, Session>) -> ProfileOptions {
    session.profile_options()
}

/// Sets how an integration is shown to its customer.
#[tauri::command]
#[specta::specta]
async fn set_profile(
    session: State<'_, Session>,
    name: String,
    profile: ProfileForm,
) -> Reply<IntegrationRow> {
    reply(session.set_profile(&name, &profile).await)
}

/// What a review pack will spend (AWS), to say before it is made.
#[tauri::command]
#[specta::specta]
async fn review_estimate(
    session: State<'_, Session>,
    name: String,
    month: Option<String>,
) -> Reply<ReviewEstimateView> {
    reply(session.review_estimate(&name, month).await)
}

/// The review pack's pages, to present as slides.
#[tauri::command]
#[specta::specta]
async fn review_pack(
    session: State<'_, Session>,
    name: String,
    month: Option<String>,
) -> Reply<ReviewPack> {
    reply(session.review_pack(&name, month).await)
}

/// Asks for a folder and writes the review pack into it; `null` when
/// cancelled.
#[tauri::command]
#[specta::specta]
async fn write_review_pack(
    app: tauri::AppHandle,
    session: State<'_, Session>,
    name: String,
    month: Option<String>,
) -> Reply<Option<ReviewFiles>> {
    let Some(dir) = save_path::ask_folder(&app).await else {
        return Ok(None);
    };
    reply(session.write_review_pack(&name, month, &dir).await).map(Some)
}

/// Saved connections (no secrets).
#[tauri::command]
#[specta::specta]
fn connections(session: State<'_, Session>) -> Reply<Vec<ConnectionRow>> {
    reply(session.connections())
}

/// Saves a connection; a secret key goes to the OS keyring only.
#[tauri::command]
#[specta::specta]
fn add_connection(session: State<'_, Session>, form: ConnectionForm) -> Reply<()> {
    reply(session.add_connection(form))
}

/// The prerequisites check of a connection.
#[tauri::command]
#[specta::specta]
async fn test_connection(session: State<'_, Session>, name: String) -> Reply<Vec<CheckRow>> {
    reply(session.test_connection(&name).await)
}

/// Removes a connection.
#[tauri::command]
#[specta::specta]
fn remove_connection(session: State<'_, Session>, name: String) -> Reply<()> {
    reply(session.remove_connection(&name))
}

mod save_path;

/// The command set and its TypeScript bindings.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new().commands(tauri_specta::collect_commands![
        workspace,
        open_demo,
        open_folder,
        open_connection,
        organization,
        integrations,
        plan_integration,
        create_integration,
        update_integration,
        resolve_rules,
        create_integration_rules,
        update_integration_rules,
        sync_plan,
        apply_sync,
        import_preview,
        run_import,
        import_progress,
        share_integration,
        delete_integration,
        repair_integration,
        verify_requests,
        verify_integration,
        orphan_views,
        drop_orphan_view,
        chart,
        movers,
        run_query,
        cancel_query,
        export_chart,
        export_query,
        profile_options,
        set_profile,
        review_estimate,
        review_pack,
        write_review_pack,
        connections,
        add_connection,
        test_connection,
        remove_connection,
    ])
}

/// The bindings' text, as committed in `ui/src/bindings.ts`.
pub fn bindings() -> Result<String, String> {
    let dir = tempfile_dir();
    let path = dir.join("bindings.ts");
    specta_builder()
        .export(specta_typescript::Typescript::default(), &path)
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(text)
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("costcarve-bindings-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Starts the app.
pub fn run() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = costcarve_ops::demo::run_worker(&args) {
        std::process::exit(code);
    }
    let dirs = match Dirs::from_env() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("costcarve: {e}");
            std::process::exit(2);
        }
    };
    let builder = specta_builder();
    let mut session = Session::new(dirs, Arc::new(SystemClock));
    // The first start makes the demo in a child process (this executable
    // again), so its memory is returned when the child exits.
    if let Ok(me) = std::env::current_exe() {
        session = session.with_demo_worker(me);
    }
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(session)
        .invoke_handler(builder.invoke_handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("costcarve: the window could not start: {e}");
        std::process::exit(1);
    }
}

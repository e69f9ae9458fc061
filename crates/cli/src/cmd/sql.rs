//! `costcarve sql`: a user's query, confined to one integration; Ctrl-C
//! stops it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use costcarve_ops::{OpsError, Workspace};

use crate::output::{out, print_json, print_table};

pub(crate) async fn run(
    ws: &Workspace,
    name: &str,
    query: &str,
    json: bool,
    explain: bool,
    max_rows: usize,
    timeout: Option<u64>,
) -> Result<(), OpsError> {
    if explain {
        out(&ws.explain(name, query).await?);
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
    let timeout = timeout.map(Duration::from_secs);
    let answer = ws.sql(name, query, max_rows, timeout, &cancel).await?;
    if let Some(run) = &answer.athena {
        eprintln!(
            "Athena query {}: {} bytes scanned{}",
            run.id,
            run.scanned_bytes,
            match &run.result_file {
                Some(loc) => format!("; rows read from {loc}"),
                None => String::new(),
            }
        );
    }
    let result = answer.result;
    if json {
        return print_json(&result);
    }
    print_table(&result.columns, &result.rows);
    if result.truncated {
        eprintln!("(only the first {max_rows} rows are shown; use --max-rows)");
    }
    Ok(())
}

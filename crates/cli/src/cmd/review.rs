//! `costcarve review NAME --month YYYY-MM --out DIR`: one customer's review
//! pack (PDF, chart PNGs, table CSVs) on its presentation profile. What the
//! figures will cost is said on stderr before anything is asked.

use std::path::Path;

use serde::Serialize;

use costcarve_ops::core::ports::{Clock, SystemClock};
use costcarve_ops::review::{default_month, parse_month};
use costcarve_ops::{OpsError, Workspace};

use crate::output::{out, print_json};

/// What `--json` prints.
#[derive(Serialize)]
struct Written {
    integration: String,
    display_name: String,
    month: String,
    basis: String,
    pdf: String,
    pngs: Vec<String>,
    csvs: Vec<String>,
    pages: Vec<String>,
    ce_requests: u64,
    athena_queries: u64,
    athena_bytes: u64,
}

pub(crate) async fn run(
    ws: &Workspace,
    name: &str,
    month: Option<&str>,
    dir: &Path,
    json: bool,
) -> Result<(), OpsError> {
    let now = SystemClock.now();
    let month = match month {
        Some(m) => parse_month(m)?,
        None => default_month(now.date_naive()),
    };
    let estimate = ws.review_estimate(name, month, now.date_naive()).await?;
    eprintln!(
        "the review pack of '{name}' for {} will spend: {}",
        month.format("%Y-%m"),
        estimate.words(ws.is_payer())
    );
    let (review, written) = ws.write_review(name, month, now, dir).await?;
    let text = |p: &Path| p.display().to_string();
    if json {
        return print_json(&Written {
            integration: review.pack.integration.clone(),
            display_name: review.pack.display_name.clone(),
            month: review.pack.month.clone(),
            basis: review.pack.basis.clone(),
            pdf: text(&written.pdf),
            pngs: written.pngs.iter().map(|p| text(p)).collect(),
            csvs: written.csvs.iter().map(|p| text(p)).collect(),
            pages: review.pack.pages.iter().map(|p| p.id.clone()).collect(),
            ce_requests: review.spent.ce_requests,
            athena_queries: review.spent.athena_queries,
            athena_bytes: review.spent.athena_bytes,
        });
    }
    out(&format!(
        "wrote the review pack of '{}' for {} to {}: {}, {} charts (PNG), {} tables (CSV)",
        review.pack.display_name,
        review.pack.month_label,
        dir.display(),
        text(&written.pdf),
        written.pngs.len(),
        written.csvs.len()
    ));
    out(&format!("basis: {}", review.pack.basis));
    out(&format!("spent: {}", review.spent.words(ws.is_payer())));
    Ok(())
}

//! `costcarve demo`: a demo workspace in a folder.

use std::io::IsTerminal;
use std::path::Path;

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

use costcarve_ops::core::ports::{Clock, SystemClock};
use costcarve_ops::{demo, OpsError};

use crate::output::out;

pub(crate) fn run(
    dir: &Path,
    rows: u64,
    seed: u64,
    end_month: Option<&str>,
) -> Result<(), OpsError> {
    let today = SystemClock.now().date_naive();
    let last = end_month
        .map(|m| {
            NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| {
                OpsError::invalid(format!("--end-month '{m}' is not a month: use YYYY-MM"))
            })
        })
        .transpose()?;
    if rows == 0 {
        return Err(OpsError::invalid("--rows must be at least 1"));
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
    let summary = demo::generate(dir, rows, seed, last, today, |p| {
        bar.set_position(u64::from(p.months_done));
        bar.set_message(format!("{} rows", p.rows_done));
    })?;
    bar.finish_and_clear();
    out(&format!(
        "demo workspace in {}: {} accounts in {} units, {} CUR rows in {} billing periods ({} to {})",
        dir.display(),
        summary.accounts,
        summary.units,
        summary.rows,
        summary.files,
        summary.billing_periods.first().map(String::as_str).unwrap_or("-"),
        summary.billing_periods.last().map(String::as_str).unwrap_or("-"),
    ));
    Ok(())
}

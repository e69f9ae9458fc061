//! The demo workspace: a deterministic organization with 13 months of CUR
//! data, made by `costcarve demo` and by the desktop on first start.

use std::path::Path;

use chrono::NaiveDate;

use costcarve_local::demo::{self, DemoSpec};
pub use costcarve_local::demo::{DemoProgress, DemoSummary, DEFAULT_ROWS, MONTHS};

use crate::OpsError;

/// Writes a demo workspace into `dir`: `rows` CUR rows from `seed`, ending
/// with the month of `last`, filled to its end; without `last`, ending with
/// the month of `today`, with data up to today as a real bill has.
pub fn generate(
    dir: &Path,
    rows: u64,
    seed: u64,
    last: Option<NaiveDate>,
    today: NaiveDate,
    progress: impl FnMut(&DemoProgress),
) -> Result<DemoSummary, OpsError> {
    if rows == 0 {
        return Err(OpsError::invalid("a demo needs at least 1 row"));
    }
    let mut spec = DemoSpec::new(rows, seed, last.unwrap_or(today));
    if last.is_none() {
        spec.data_until = Some(today);
    }
    Ok(demo::generate(dir, &spec, progress)?)
}

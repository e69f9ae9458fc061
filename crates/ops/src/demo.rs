//! The demo workspace: a deterministic organization with 13 months of CUR
//! data, made by `costcarve demo` and by the desktop on first start.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use chrono::NaiveDate;

use costcarve_core::error::ErrorCode;
use costcarve_core::ports::SystemClock;

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

/// The argument that makes the desktop's own executable a demo worker.
pub const WORKER_FLAG: &str = "--make-first-start-demo";

/// How the desktop makes the demo on first start.
#[derive(Debug, Clone, Default)]
pub enum FirstStart {
    /// In this process (the CLI, tests).
    #[default]
    InProcess,
    /// In a child process running `program WORKER_FLAG DIR ROWS TODAY`, so
    /// the memory that generating and summarizing take goes back to the
    /// system when it exits (the desktop runs itself; see [`run_worker`]).
    Worker(PathBuf),
}

/// Makes the first-start demo in `dir` if it is not there: generated into
/// a sibling folder, opened once there (which builds the daily rollup every
/// later start reads), then renamed into place, so an interrupted first
/// start leaves nothing that blocks the next one.
pub async fn ensure_first_start(
    dir: &Path,
    rows: u64,
    today: NaiveDate,
    how: &FirstStart,
) -> Result<(), OpsError> {
    if dir.join(costcarve_local::workspace::MANIFEST_FILE).exists() {
        return Ok(());
    }
    match how {
        FirstStart::InProcess => make_first_start(dir, rows, today).await,
        FirstStart::Worker(program) => {
            let out = tokio::process::Command::new(program)
                .arg(WORKER_FLAG)
                .arg(dir)
                .arg(rows.to_string())
                .arg(today.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .output()
                .await
                .map_err(|e| {
                    OpsError::new(
                        ErrorCode::Io,
                        format!("the demo could not be made: starting its worker failed ({e})"),
                    )
                })?;
            if out.status.success() && dir.join(costcarve_local::workspace::MANIFEST_FILE).exists()
            {
                Ok(())
            } else {
                let said = String::from_utf8_lossy(&out.stderr);
                Err(OpsError::new(
                    ErrorCode::Io,
                    format!("the demo could not be made: {}", said.trim()),
                ))
            }
        }
    }
}

async fn make_first_start(dir: &Path, rows: u64, today: NaiveDate) -> Result<(), OpsError> {
    let mut partial = dir.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    remove_leftover(&partial)?;
    let target = partial.clone();
    tokio::task::spawn_blocking(move || generate(&target, rows, 42, None, today, |_| {}))
        .await
        .map_err(|e| OpsError::new(ErrorCode::Io, format!("making the demo stopped: {e}")))??;
    // Opening builds the rollup cache inside the folder; its fingerprint
    // names files relative to the folder, so it survives the rename.
    drop(costcarve_local::LocalWorkspace::open(&partial, Arc::new(SystemClock)).await?);
    // A folder without a manifest is what an older, interrupted first
    // start left: it was never a usable workspace.
    remove_leftover(dir)?;
    std::fs::rename(&partial, dir).map_err(|e| OpsError::write(dir, e))
}

fn remove_leftover(dir: &Path) -> Result<(), OpsError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OpsError::write(dir, e)),
    }
}

/// When this process was started as a demo worker ([`FirstStart::Worker`]),
/// does the work and returns the exit code; `None` otherwise.
pub fn run_worker(args: &[OsString]) -> Option<i32> {
    let rest = match args {
        [_, flag, rest @ ..] if flag == WORKER_FLAG => rest,
        _ => return None,
    };
    let job = match rest {
        [dir, rows, today] => rows
            .to_str()
            .and_then(|r| r.parse::<u64>().ok())
            .zip(today.to_str().and_then(|t| t.parse::<NaiveDate>().ok()))
            .map(|(rows, today)| (PathBuf::from(dir), rows, today)),
        _ => None,
    };
    let Some((dir, rows, today)) = job else {
        eprintln!("usage: {WORKER_FLAG} DIR ROWS YYYY-MM-DD");
        return Some(2);
    };
    let made = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| OpsError::new(ErrorCode::Io, e.to_string()))
        .and_then(|rt| rt.block_on(make_first_start(&dir, rows, today)));
    match made {
        Ok(()) => Some(0),
        Err(e) => {
            eprintln!("{e}");
            Some(e.code.exit_code())
        }
    }
}

//! The daily rollup: the CUR summed per day, account, service, usage type,
//! region and line item type, kept as Parquet in the workspace's cache and
//! rebuilt when the CUR files change. Cost queries that do not group by tag
//! read it instead of the raw line items.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use datafusion::arrow::record_batch::RecordBatch;

use crate::LocalError;

/// The daily rollup cost queries read when it exists.
#[derive(Debug, Clone, Default)]
pub struct RollupStatus {
    /// Where it is.
    pub dir: PathBuf,
    /// True when it was (re)built by this call.
    pub built: bool,
    /// Rows in it.
    pub rows: u64,
    /// Time the build took.
    pub build_millis: u64,
}

/// Bump when the rollup's columns or meaning change.
const ROLLUP_VERSION: &str = "rollup-v2";
const FINGERPRINT_FILE: &str = "FINGERPRINT";

/// Identifies the CUR's files as they are now: names, sizes, change times.
/// SHA-256, so the same files give the same print whatever Rust release
/// built the app (`DefaultHasher` makes no such promise).
fn fingerprint(root: &Path, files: &[PathBuf]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(ROLLUP_VERSION.as_bytes());
    for f in files {
        let name = f.strip_prefix(root).unwrap_or(f).to_string_lossy();
        h.update(b"\0");
        h.update(name.as_bytes());
        if let Ok(m) = fs::metadata(f) {
            h.update(m.len().to_le_bytes());
            let changed = m.modified().ok();
            if let Some(since) = changed.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            {
                h.update(since.as_nanos().to_le_bytes());
            }
        }
    }
    let digest: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{digest} {}", files.len())
}

/// Makes sure an up-to-date rollup of the CUR `files` (under `root`,
/// partitioned by `partition_col`) exists under `cache_dir`; builds it if
/// not, one billing period at a time with `summarize(period)`.
pub(crate) async fn ensure<F>(
    root: &Path,
    files: &[PathBuf],
    partition_col: &str,
    cache_dir: &Path,
    summarize: impl Fn(String) -> F,
) -> Result<RollupStatus, LocalError>
where
    F: std::future::Future<Output = Result<Vec<RecordBatch>, LocalError>>,
{
    let print = fingerprint(root, files);
    let dir = cache_dir.join(ROLLUP_VERSION);
    if fs::read_to_string(dir.join(FINGERPRINT_FILE))
        .ok()
        .as_deref()
        == Some(print.as_str())
    {
        return Ok(RollupStatus {
            dir,
            built: false,
            rows: 0,
            build_millis: 0,
        });
    }
    let started = Instant::now();
    let prefix = format!("{partition_col}=");
    let periods: BTreeSet<String> = files
        .iter()
        .filter_map(|f| {
            f.strip_prefix(root).ok()?.components().find_map(|c| {
                c.as_os_str()
                    .to_str()?
                    .strip_prefix(&prefix)
                    .map(String::from)
            })
        })
        .collect();
    fs::create_dir_all(cache_dir).map_err(|e| LocalError::io(cache_dir, e))?;
    let tmp = cache_dir.join(format!(".{ROLLUP_VERSION}.building"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| LocalError::io(&tmp, e))?;
    }
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(4096)
        .set_write_batch_size(4096)
        .set_created_by("costcarve rollup".into())
        .build();
    let mut rows = 0u64;
    for period in &periods {
        // Periods come from folder names: keep them to what a period is.
        if !period
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            continue;
        }
        let part = tmp.join(format!("{prefix}{period}"));
        fs::create_dir_all(&part).map_err(|e| LocalError::io(&part, e))?;
        let batches = summarize(period.clone()).await?;
        let Some(first) = batches.first() else {
            continue;
        };
        let path = part.join("part-00000.parquet");
        let file = fs::File::create(&path).map_err(|e| LocalError::io(&path, e))?;
        let mut writer = ArrowWriter::try_new(file, first.schema(), Some(props.clone()))?;
        for b in &batches {
            rows += b.num_rows() as u64;
            writer.write(b)?;
        }
        writer.close()?;
    }
    fs::write(tmp.join(FINGERPRINT_FILE), &print).map_err(|e| LocalError::io(&tmp, e))?;
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| LocalError::io(&dir, e))?;
    }
    fs::rename(&tmp, &dir).map_err(|e| LocalError::io(&dir, e))?;
    Ok(RollupStatus {
        dir,
        built: true,
        rows,
        build_millis: started.elapsed().as_millis() as u64,
    })
}

//! A local workspace on disk: the organization, the CUR Parquet files and the
//! saved virtual integrations, and how they are opened and saved.
//!
//! Layout (demo): `costcarve-workspace.json`, `organization.json`,
//! `integrations.json` and `cur/billing_period=YYYY-MM/*.parquet`. A folder
//! holding a real CUR 2.0 export (`BILLING_PERIOD=YYYY-MM/*.parquet`) or a
//! legacy CUR (`year=YYYY/month=M/*.parquet`) copied from S3 opens too: the
//! organization is then derived from the accounts in the data.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use costcarve_core::account::{AccountId, Organization};
use costcarve_core::integration::IntegrationSet;

use crate::LocalError;

/// Marks a folder as a CostCarve workspace.
pub const MANIFEST_FILE: &str = "costcarve-workspace.json";
/// The organization.
pub const ORGANIZATION_FILE: &str = "organization.json";
/// The virtual integrations.
pub const INTEGRATIONS_FILE: &str = "integrations.json";
/// The demo's CUR folder.
pub const CUR_DIR: &str = "cur";

/// What a workspace folder says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkspaceManifest {
    /// Format version.
    pub format: u32,
    /// `demo` or `import`.
    pub origin: String,
    /// The demo's seed.
    pub seed: Option<u64>,
    /// Rows generated.
    pub rows: Option<u64>,
}

impl WorkspaceManifest {
    /// The manifest of a generated demo.
    pub fn demo(seed: u64, rows: u64) -> Self {
        Self {
            format: 1,
            origin: "demo".into(),
            seed: Some(seed),
            rows: Some(rows),
        }
    }
}

/// Which Cost and Usage Report format the files are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurFlavor {
    /// CUR 2.0 (Data Exports): `billing_period` partitions, map columns.
    Cur2,
    /// Legacy CUR: `year`/`month` partitions, one column per tag.
    Legacy,
}

/// How the CUR files are partitioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioning {
    /// `<name>=YYYY-MM` folders (`billing_period` or `BILLING_PERIOD`).
    BillingPeriod(String),
    /// `year=YYYY/month=M` folders.
    YearMonth,
    /// Files directly under the root.
    None,
}

/// Where the CUR files are and what they are.
#[derive(Debug, Clone)]
pub struct CurLocation {
    /// The folder the table is registered on.
    pub root: PathBuf,
    /// CUR 2.0 or legacy.
    pub flavor: CurFlavor,
    /// The partition folders.
    pub partitioning: Partitioning,
    /// The Parquet files found, sorted.
    pub files: Vec<PathBuf>,
}

/// Writes `value` as JSON next to `path` and renames it into place, so a
/// crash leaves either the old file or the new one, never half of one.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), LocalError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| LocalError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    costcarve_core::files::write_atomic(path, &bytes).map_err(|e| LocalError::io(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, LocalError> {
    let bytes = fs::read(path).map_err(|e| LocalError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| LocalError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Loads the saved integrations (none if the file does not exist yet).
pub fn load_integrations(dir: &Path) -> Result<IntegrationSet, LocalError> {
    let path = dir.join(INTEGRATIONS_FILE);
    if !path.exists() {
        return Ok(IntegrationSet {
            version: 1,
            integrations: vec![],
        });
    }
    let mut set: IntegrationSet = read_json(&path)?;
    // Files from before rules existed hold hand-kept lists.
    set.integrations = set
        .integrations
        .into_iter()
        .map(|vi| vi.with_effective_rules())
        .collect();
    Ok(set)
}

/// Saves the integrations atomically.
pub fn save_integrations(dir: &Path, set: &IntegrationSet) -> Result<(), LocalError> {
    write_json_atomic(&dir.join(INTEGRATIONS_FILE), set)
}

/// Loads `organization.json` when there is one.
pub fn load_organization(dir: &Path) -> Result<Option<Organization>, LocalError> {
    let path = dir.join(ORGANIZATION_FILE);
    if path.exists() {
        read_json(&path).map(Some)
    } else {
        Ok(None)
    }
}

/// An organization made from the accounts seen in the CUR, for imported
/// exports that came without one.
pub fn organization_from_accounts(
    payer: Option<AccountId>,
    accounts: Vec<(AccountId, String)>,
) -> Organization {
    let management = payer
        .or_else(|| accounts.first().map(|a| a.0.clone()))
        .unwrap_or_else(|| {
            AccountId::try_from("000000000000".to_string()).unwrap_or_else(|_| unreachable!())
        });
    Organization::flat(management, accounts)
}

/// Finds the CUR under `dir` and tells which format it is.
pub fn locate_cur(dir: &Path) -> Result<CurLocation, LocalError> {
    if !dir.is_dir() {
        return Err(LocalError::NotAWorkspace {
            path: dir.to_path_buf(),
            reason: "it is not a folder".into(),
        });
    }
    let root = if dir.join(CUR_DIR).is_dir() {
        dir.join(CUR_DIR)
    } else {
        dir.to_path_buf()
    };
    let files = parquet_files(&root);
    if files.is_empty() {
        return Err(LocalError::NotAWorkspace {
            path: dir.to_path_buf(),
            reason: "no Parquet files were found in it. Copy a CUR 2.0 export (its BILLING_PERIOD=YYYY-MM folders) or a legacy CUR (year=YYYY/month=M folders) from S3 into it, or make a demo workspace there".into(),
        });
    }
    let first = files[0].clone();
    let first = &first;
    let rel = first.strip_prefix(&root).unwrap_or(first);
    let segments: Vec<String> = rel
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(String::from))
        .collect();
    // The table is registered on the folder above the first `key=value`
    // folder, so that DataFusion reads the partitions as columns.
    let first_partition = segments.iter().position(|s| s.contains('='));
    let partitioning = match first_partition.map(|i| segments[i].clone()) {
        Some(seg) if seg.to_ascii_lowercase().starts_with("billing_period=") => {
            Partitioning::BillingPeriod(
                seg.split('=')
                    .next()
                    .unwrap_or("billing_period")
                    .to_string(),
            )
        }
        Some(seg) if seg.starts_with("year=") => Partitioning::YearMonth,
        _ => Partitioning::None,
    };
    let root = match (first_partition, &partitioning) {
        (Some(i), Partitioning::BillingPeriod(_) | Partitioning::YearMonth) => {
            segments[..i].iter().fold(root.clone(), |p, s| p.join(s))
        }
        _ => first.parent().map(Path::to_path_buf).unwrap_or(root),
    };
    let columns = parquet_columns(first)?;
    let has = |c: &str| columns.iter().any(|x| x == c);
    let required = [
        "line_item_usage_account_id",
        "line_item_unblended_cost",
        "line_item_usage_start_date",
        "line_item_product_code",
        "line_item_line_item_type",
    ];
    let missing: Vec<&str> = required.iter().copied().filter(|c| !has(c)).collect();
    if !missing.is_empty() {
        return Err(LocalError::NotAWorkspace {
            path: dir.to_path_buf(),
            reason: format!(
                "{} is not a Cost and Usage Report file: it lacks the columns {}",
                first.display(),
                missing.join(", ")
            ),
        });
    }
    let flavor = if has("line_item_usage_account_name") || has("resource_tags") || has("product") {
        CurFlavor::Cur2
    } else {
        CurFlavor::Legacy
    };
    Ok(CurLocation {
        root,
        flavor,
        partitioning,
        files,
    })
}

/// The Parquet files under `root` (hidden folders, the workspace cache
/// among them, left out), sorted.
pub(crate) fn parquet_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
        if depth > 8 {
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(&p, out, depth + 1);
            } else if p.extension().and_then(|x| x.to_str()) == Some("parquet") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out, 0);
    out.sort();
    out
}

fn parquet_columns(path: &Path) -> Result<Vec<String>, LocalError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let f = fs::File::open(path).map_err(|e| LocalError::io(path, e))?;
    let reader = SerializedFileReader::new(f).map_err(|e| LocalError::NotAWorkspace {
        path: path.to_path_buf(),
        reason: format!("it is not a readable Parquet file ({e})"),
    })?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    Ok(schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect())
}

//! The pack's files: `<name>-<month>.pdf`, one PNG per chart, one CSV per
//! table.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::model::{PackTable, ReviewPack};

/// What [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The PDF.
    pub pdf: PathBuf,
    /// One PNG per chart, in page order.
    pub pngs: Vec<PathBuf>,
    /// One CSV per table, in page order.
    pub csvs: Vec<PathBuf>,
}

/// A pack that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The PDF could not be made.
    #[error("cannot make the PDF: {0}")]
    Pdf(String),
    /// The pack has no page to write.
    #[error("the review pack has no pages: build it again from the month's costs")]
    NoPages,
    /// A chart's SVG could not be read.
    #[error("the chart '{id}' is not an SVG that can be drawn ({reason}): draw it again with costcarve-charts")]
    Chart {
        /// The chart's id.
        id: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A table could not be written as CSV.
    #[error("the table '{id}' cannot be written as CSV ({reason}): every row needs as many cells as the CSV has columns")]
    Csv {
        /// The table's id.
        id: String,
        /// What was wrong with it.
        reason: String,
    },
    /// Two charts or tables would be written to the same file.
    #[error("two charts or tables of the pack would both be written to {0}: give each chart and table its own id")]
    SameFile(String),
    /// The embedded font could not be read (a build problem, not a user one).
    #[error("the embedded font (DejaVu Sans, from costcarve-charts) could not be read: rebuild CostCarve")]
    Font,
}

/// `<name>-<month>`, with characters a file name should not hold as `-`.
pub fn file_stem(pack: &ReviewPack) -> String {
    format!("{}-{}", safe_name(&pack.integration), pack.month)
}

/// `name` with characters a file name should not hold as `-`.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+=@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The pack as PDF bytes: A4 landscape, one pack page per PDF page (a long
/// table goes on to a next page), the charts as vector graphics, all text
/// real text in the embedded DejaVu Sans, the basis in every page's footer.
pub fn pdf_bytes(pack: &ReviewPack) -> Result<Vec<u8>, ReviewError> {
    crate::pdf::render(pack)
}

/// Writes the pack's files into `dir` (created if missing): `<stem>.pdf`,
/// `<stem>-<chart id>.png` per chart (its PNG as it is) and
/// `<stem>-<table id>.csv` per table (every row, plain values), where
/// `<stem>` is [`file_stem`].
///
/// Everything is made in memory first, so a pack that cannot be made writes
/// nothing; each file is then written under a temporary name in `dir` and
/// renamed, so no file is ever left half written under its own name.
pub fn write(pack: &ReviewPack, dir: &Path) -> Result<Written, ReviewError> {
    let stem = file_stem(pack);
    let pdf = pdf_bytes(pack)?;
    let pdf_path = dir.join(format!("{stem}.pdf"));
    let mut files: Vec<(PathBuf, Cow<'_, [u8]>)> = vec![(pdf_path.clone(), Cow::Owned(pdf))];
    let mut pngs = Vec::new();
    let mut csvs = Vec::new();
    for page in &pack.pages {
        if let Some(chart) = &page.chart {
            let path = dir.join(format!("{stem}-{}.png", safe_name(&chart.id)));
            pngs.push(path.clone());
            files.push((path, Cow::Borrowed(&chart.png)));
        }
        if let Some(table) = &page.table {
            let path = dir.join(format!("{stem}-{}.csv", safe_name(&table.id)));
            csvs.push(path.clone());
            files.push((path, Cow::Owned(csv_bytes(table)?)));
        }
    }
    let mut names = HashSet::new();
    for (path, _) in &files {
        if !names.insert(path) {
            return Err(ReviewError::SameFile(path.display().to_string()));
        }
    }

    let existed = dir.is_dir();
    std::fs::create_dir_all(dir).map_err(|source| ReviewError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let written = stage_all(dir, &files).and_then(|staged| {
        staged
            .into_iter()
            .zip(&files)
            .try_for_each(|(temp, (path, _))| {
                temp.persist(path).map(drop).map_err(|e| ReviewError::Io {
                    path: path.clone(),
                    source: e.error,
                })
            })
    });
    if let Err(e) = written {
        if !existed {
            // Only if empty: never anything the caller had.
            let _ = std::fs::remove_dir(dir);
        }
        return Err(e);
    }
    Ok(Written {
        pdf: pdf_path,
        pngs,
        csvs,
    })
}

/// Each file written and flushed under a temporary name in `dir`; on an
/// error the ones already written are removed (when dropped).
fn stage_all(
    dir: &Path,
    files: &[(PathBuf, Cow<'_, [u8]>)],
) -> Result<Vec<NamedTempFile>, ReviewError> {
    files
        .iter()
        .map(|(path, bytes)| {
            let io = |source| ReviewError::Io {
                path: path.clone(),
                source,
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let prefix = format!(".{name}.");
            let mut builder = tempfile::Builder::new();
            builder.prefix(&prefix).suffix(".tmp");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // As any new file: 0666 less the umask.
                builder.permissions(std::fs::Permissions::from_mode(0o666));
            }
            let mut temp = builder.tempfile_in(dir).map_err(io)?;
            temp.write_all(bytes).map_err(io)?;
            temp.as_file().sync_all().map_err(io)?;
            Ok(temp)
        })
        .collect()
}

/// The table's CSV: `csv_columns`, then every one of `csv_rows`.
fn csv_bytes(table: &PackTable) -> Result<Vec<u8>, ReviewError> {
    let failed = |e: csv::Error| ReviewError::Csv {
        id: table.id.clone(),
        reason: e.to_string(),
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&table.csv_columns).map_err(failed)?;
    for row in &table.csv_rows {
        out.write_record(row).map_err(failed)?;
    }
    out.into_inner().map_err(|e| ReviewError::Csv {
        id: table.id.clone(),
        reason: e.error().to_string(),
    })
}

impl costcarve_core::error::Coded for ReviewError {
    fn code(&self) -> costcarve_core::error::ErrorCode {
        use costcarve_core::error::ErrorCode;
        match self {
            ReviewError::Io { .. } => ErrorCode::Io,
            _ => ErrorCode::Engine,
        }
    }
}

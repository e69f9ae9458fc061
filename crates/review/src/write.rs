//! The pack's files: `<name>-<month>.pdf`, one PNG per chart, one CSV per
//! table.

use std::path::{Path, PathBuf};

use crate::model::ReviewPack;

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
}

/// `<name>-<month>`, with characters a file name should not hold as `-`.
pub fn file_stem(pack: &ReviewPack) -> String {
    let name: String = pack
        .integration
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+=@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{name}-{}", pack.month)
}

/// The pack as PDF bytes.
pub fn pdf_bytes(_pack: &ReviewPack) -> Result<Vec<u8>, ReviewError> {
    Err(ReviewError::Pdf("not written yet".into()))
}

/// Writes the pack's files into `dir` (created if missing).
pub fn write(_pack: &ReviewPack, _dir: &Path) -> Result<Written, ReviewError> {
    Err(ReviewError::Pdf("not written yet".into()))
}

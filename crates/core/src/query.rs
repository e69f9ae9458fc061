//! The answer to a confined SQL query, whichever engine ran it.

use serde::{Deserialize, Serialize};

/// Rows of a query, every cell as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Cell values as text (`None` for SQL NULL).
    pub rows: Vec<Vec<Option<String>>>,
    /// True when more rows existed than were kept.
    pub truncated: bool,
}

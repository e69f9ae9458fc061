//! The pack as data: what every output shows.

use serde::Serialize;
use specta::Type;

/// One customer's review pack for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ReviewPack {
    /// The integration's name (file names are made from it).
    pub integration: String,
    /// The customer's name as shown (the profile's display name, or the
    /// integration's name).
    pub display_name: String,
    /// The month reviewed, `YYYY-MM`.
    pub month: String,
    /// The month in words, `November 2026`.
    pub month_label: String,
    /// The cost basis and exclusions in words; stated on every page.
    pub basis: String,
    /// ISO currency code.
    pub currency: String,
    /// When the data was written or read, as a date (`2 Dec 2026`).
    pub data_as_of: String,
    /// Whether the month is still open or AWS may still restate it.
    pub estimated: bool,
    /// The pages, in order: cover first.
    pub pages: Vec<PackPage>,
}

/// One page of the pack, one slide in Present mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct PackPage {
    /// Stable id: `cover`, `total`, `trend`, `services`, `movers`,
    /// `accounts`, `daily`, `forecast`, `verification`, `appendix`.
    pub id: String,
    /// Heading.
    pub title: String,
    /// Sentences under the heading, in order.
    pub lines: Vec<String>,
    /// Headline figures, shown large.
    pub figures: Vec<KeyFigure>,
    /// A chart, when the page has one.
    pub chart: Option<PackChart>,
    /// A table, when the page has one.
    pub table: Option<PackTable>,
}

/// A headline figure: `Total` `$12,345.67` `+4.2% on October 2026`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct KeyFigure {
    /// What it is.
    pub label: String,
    /// The amount, formatted.
    pub value: String,
    /// A note under it (a change, a comparison), when there is one.
    pub note: Option<String>,
}

/// A chart: drawn once by `costcarve-charts`, as SVG (the PDF's vector
/// chart and the slide's) and PNG (its own file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct PackChart {
    /// Short id, part of the PNG's file name (`trend` →
    /// `<name>-<month>-trend.png`).
    pub id: String,
    /// The chart as an SVG document.
    pub svg: String,
    /// The same chart as PNG bytes (not sent to the desktop).
    #[serde(skip)]
    #[specta(skip)]
    pub png: Vec<u8>,
}

/// A table: shown formatted on the page, written in full with plain
/// numbers to its CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct PackTable {
    /// Short id, part of the CSV's file name (`services` →
    /// `<name>-<month>-services.csv`).
    pub id: String,
    /// Column headings as shown.
    pub columns: Vec<String>,
    /// Rows as shown (amounts formatted, at most a page of them).
    pub rows: Vec<Vec<String>>,
    /// Column headings of the CSV.
    #[serde(skip)]
    #[specta(skip)]
    pub csv_columns: Vec<String>,
    /// Every row of the CSV: plain decimals (`1234.56`), ids and codes as
    /// they are in the CUR.
    #[serde(skip)]
    #[specta(skip)]
    pub csv_rows: Vec<Vec<String>>,
}

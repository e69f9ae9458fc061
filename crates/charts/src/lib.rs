//! Cost charts for CostCarve: a [`CostSeries`] in, a deterministic SVG or PNG
//! out, ready for a customer report or a projector.
//!
//! Three kinds of chart are drawn (see [`ChartKind`]): monthly stacked bars by
//! service, a daily line, and totals per account. Keys outside the top N of
//! the first group-by dimension are summed into a grey "Other". Each key gets
//! a colour from a fixed palette by a stable hash of its name, so a service
//! has the same colour in every chart. Text is drawn with DejaVu Sans, which
//! is embedded in the crate, so a PNG comes out byte for byte the same on
//! every machine.
//!
//! ```no_run
//! # fn demo(series: &costcarve_core::cost::CostSeries) -> Result<(), costcarve_charts::ChartError> {
//! use costcarve_charts::{render_to_file, ChartKind, ChartOptions};
//! let opts = ChartOptions::new(ChartKind::StackedByService, "Acme: cost by service");
//! render_to_file(series, &opts, std::path::Path::new("acme.png"))?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use costcarve_core::cost::CostSeries;
use image::ImageEncoder;
use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};

mod draw;
mod format;
mod model;
mod palette;
mod typeset;

pub use typeset::font_bytes;
use typeset::Typeset;

/// Smallest width and height accepted, in pixels.
pub const MIN_SIZE: (u32, u32) = (200, 150);
/// Largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 8192;

/// Which chart to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChartKind {
    /// One stacked bar per period (month): the top N keys of the first
    /// group-by dimension (usually the service) and "Other".
    #[default]
    StackedByService,
    /// One line of totals per period (day), or, when the series is grouped,
    /// one line per top-N key of the first dimension and one for "Other".
    DailyLine,
    /// Horizontal bars of the total per key of the first group-by dimension
    /// (usually the account), top N and "Other", largest at the top.
    ByAccount,
}

impl ChartKind {
    /// The name used on the command line: `stacked`, `daily` or `account`.
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::StackedByService => "stacked",
            ChartKind::DailyLine => "daily",
            ChartKind::ByAccount => "account",
        }
    }
}

impl fmt::Display for ChartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChartKind {
    type Err = ChartError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "stacked" | "stacked-by-service" | "service" | "services" => Ok(Self::StackedByService),
            "daily" | "daily-line" | "line" => Ok(Self::DailyLine),
            "account" | "accounts" | "by-account" => Ok(Self::ByAccount),
            _ => Err(ChartError::UnknownKind(s.to_string())),
        }
    }
}

/// What to draw and how big.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartOptions {
    /// The kind of chart.
    pub kind: ChartKind,
    /// Drawn at the top; nothing is drawn when empty.
    pub title: String,
    /// Width in pixels (SVG user units).
    pub width: u32,
    /// Height in pixels (SVG user units).
    pub height: u32,
    /// How many keys to show before the rest go into "Other" (at least 1).
    pub top_n: usize,
    /// Bigger text and thicker lines, for projectors.
    pub large_type: bool,
    /// A line under the range and total, e.g. the cost basis in words;
    /// nothing is drawn when empty.
    pub caption: String,
}

impl Default for ChartOptions {
    /// A 1200×675 (16:9) stacked chart without a title, top 8.
    fn default() -> Self {
        Self {
            kind: ChartKind::default(),
            title: String::new(),
            width: 1200,
            height: 675,
            top_n: 8,
            large_type: false,
            caption: String::new(),
        }
    }
}

impl ChartOptions {
    /// Default options for a chart of `kind` titled `title`.
    pub fn new(kind: ChartKind, title: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            ..Self::default()
        }
    }

    /// The same options with another size.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// The same options with another top N.
    pub fn with_top_n(mut self, top_n: usize) -> Self {
        self.top_n = top_n;
        self
    }

    /// The same options with a line under the range and total (e.g. the
    /// cost basis in words).
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = caption.into();
        self
    }

    /// The same options with large type on or off.
    pub fn with_large_type(mut self, large_type: bool) -> Self {
        self.large_type = large_type;
        self
    }

    fn validate(&self) -> Result<(), ChartError> {
        let ok = (MIN_SIZE.0..=MAX_SIDE).contains(&self.width)
            && (MIN_SIZE.1..=MAX_SIDE).contains(&self.height);
        if ok {
            Ok(())
        } else {
            Err(ChartError::Size {
                width: self.width,
                height: self.height,
            })
        }
    }
}

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Width or height out of bounds.
    #[error(
        "a chart of {width}x{height} pixels cannot be drawn: width must be {}-{MAX_SIDE} and height {}-{MAX_SIDE}",
        MIN_SIZE.0,
        MIN_SIZE.1
    )]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// Not a chart kind.
    #[error("unknown chart kind '{0}': use stacked, daily or account")]
    UnknownKind(String),
    /// The embedded font could not be loaded (a build problem, not a user one).
    #[error("the embedded chart font (DejaVu Sans) could not be loaded")]
    Font,
    /// Plotters failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the chart as PNG failed: {0}")]
    Png(String),
    /// `render_to_file` was given a path it cannot choose a format for.
    #[error("cannot write a chart to '{}': {}; supported: .svg, .png", path.display(), describe_extension(.extension))]
    UnsupportedExtension {
        /// The path given.
        path: PathBuf,
        /// Its extension, empty when it has none.
        extension: String,
    },
    /// Writing the file failed.
    #[error("could not write the chart to '{}': {source}", path.display())]
    Io {
        /// The path written to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn describe_extension(ext: &str) -> String {
    if ext.is_empty() {
        "the file name has no extension".into()
    } else {
        format!("'.{ext}' is not a supported chart format")
    }
}

/// Draws `series` as an SVG document.
///
/// An empty series (or one of zero amounts) gives a chart saying "No costs in
/// this range". The same input always gives the same bytes.
pub fn render_svg(series: &CostSeries, opts: &ChartOptions) -> Result<String, ChartError> {
    opts.validate()?;
    let font = typeset::font()?;
    let model = model::build(series, opts.top_n);
    let mut out = String::new();
    {
        let svg = SVGBackend::with_string(&mut out, (opts.width, opts.height));
        let root = Typeset::vector(svg, font).into_drawing_area();
        draw::draw(&root, &model, opts)?;
        root.present()
            .map_err(|e| ChartError::Draw(e.to_string()))?;
    }
    Ok(out)
}

/// Draws `series` as a PNG image of `opts.width`×`opts.height` pixels (RGB,
/// 8 bits per channel); see [`render_svg`].
pub fn render_png(series: &CostSeries, opts: &ChartOptions) -> Result<Vec<u8>, ChartError> {
    opts.validate()?;
    let font = typeset::font()?;
    let model = model::build(series, opts.top_n);
    // Both sides are at most MAX_SIDE, so this fits in usize.
    let len = opts.width as usize * opts.height as usize * 3;
    let mut pixels = vec![0u8; len];
    {
        let bitmap = BitMapBackend::with_buffer(&mut pixels, (opts.width, opts.height));
        let root = Typeset::raster(bitmap, font).into_drawing_area();
        draw::draw(&root, &model, opts)?;
        root.present()
            .map_err(|e| ChartError::Draw(e.to_string()))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, opts.width, opts.height, image::ColorType::Rgb8)
        .map_err(|e| ChartError::Png(e.to_string()))?;
    Ok(png)
}

/// Draws `series` into `path`, as SVG or PNG by the path's extension
/// (`.svg` or `.png`, any case); any other extension is an error.
pub fn render_to_file(
    series: &CostSeries,
    opts: &ChartOptions,
    path: &Path,
) -> Result<(), ChartError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_string())
        .unwrap_or_default();
    let bytes = match extension.to_ascii_lowercase().as_str() {
        "svg" => render_svg(series, opts)?.into_bytes(),
        "png" => render_png(series, opts)?,
        _ => {
            return Err(ChartError::UnsupportedExtension {
                path: path.to_path_buf(),
                extension,
            })
        }
    };
    std::fs::write(path, bytes).map_err(|source| ChartError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl costcarve_core::error::Coded for ChartError {
    fn code(&self) -> costcarve_core::error::ErrorCode {
        use costcarve_core::error::ErrorCode;
        match self {
            ChartError::Size { .. }
            | ChartError::UnknownKind(_)
            | ChartError::UnsupportedExtension { .. } => ErrorCode::InvalidInput,
            ChartError::Io { .. } => ErrorCode::Io,
            ChartError::Font | ChartError::Draw(_) | ChartError::Png(_) => ErrorCode::Engine,
        }
    }
}

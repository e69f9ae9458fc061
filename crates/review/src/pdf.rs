//! The pack as a PDF: A4 landscape, one pack page per PDF page (a table
//! longer than a page goes on under the same title, "(continued)"), the
//! charts as vector graphics, every text real text in the embedded font.
//!
//! The pages are first laid out as lists of drawing operations (so the
//! number of pages is known before any footer says "Page n of N"), then
//! drawn with krilla.

use std::sync::Arc;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::Document;
use krilla_svg::{SurfaceExt, SvgSettings};
use usvg::fontdb;

use crate::face::Face;
use crate::model::{KeyFigure, PackPage, PackTable, ReviewPack};
use crate::write::ReviewError;

/// A4 landscape, in points.
const PAGE_W: f32 = 842.0;
const PAGE_H: f32 = 595.0;
const MARGIN: f32 = 40.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;

const HEADER_SIZE: f32 = 9.0;
const HEADER_BASELINE: f32 = 26.0;
const HEADER_RULE: f32 = 34.0;
const BODY_TOP: f32 = 52.0;

const TITLE_SIZE: f32 = 22.0;
const TITLE_LEADING: f32 = 28.0;
const TEXT_SIZE: f32 = 12.0;
const TEXT_LEADING: f32 = 17.0;

const FOOTER_SIZE: f32 = 8.0;
const FOOTER_MIN_SIZE: f32 = 6.5;
const FOOTER_LEADING: f32 = 10.0;
const FOOTER_LAST_BASELINE: f32 = PAGE_H - 22.0;

const FIGURES_PER_ROW: usize = 4;
const FIGURE_GAP: f32 = 12.0;
const FIGURE_PAD: f32 = 12.0;
const FIGURE_LABEL_SIZE: f32 = 10.0;
const FIGURE_VALUE_SIZE: f32 = 26.0;
const FIGURE_VALUE_MIN_SIZE: f32 = 12.0;
const FIGURE_NOTE_SIZE: f32 = 9.5;
const FIGURE_NOTE_LEADING: f32 = 13.0;
/// A longer note is cut, with an ellipsis, on its last line.
const FIGURE_NOTE_LINES: usize = 3;

/// A chart is put on a page of its own rather than drawn smaller than this.
const CHART_MIN_H: f32 = 140.0;
/// A table at most this share of the width, short enough, goes beside its
/// chart.
const SIDE_TABLE_SHARE: f32 = 0.35;
const SIDE_GAP: f32 = 20.0;
/// Under a chart.
const CHART_GAP: f32 = 12.0;
/// A table under its chart has all its rows on the page when the chart
/// can still be this high.
const CHART_GOOD_H: f32 = 220.0;

const TABLE_SIZE: f32 = 9.5;
const TABLE_HEAD_H: f32 = 20.0;
const TABLE_ROW_H: f32 = 17.0;
const CELL_PAD: f32 = 6.0;
/// Above a table.
const TABLE_GAP: f32 = 4.0;
/// Added to a numeric column's width when there is room.
const NUMBER_AIR: f32 = 24.0;

const INK: Rgb = Rgb(0x1f, 0x29, 0x37);
const MUTED: Rgb = Rgb(0x6b, 0x72, 0x80);
const ACCENT: Rgb = Rgb(0x25, 0x63, 0xeb);
const RULE: Rgb = Rgb(0xd1, 0xd5, 0xdb);
const CARD: Rgb = Rgb(0xf3, 0xf4, 0xf6);
const STRIPE: Rgb = Rgb(0xf7, 0xf8, 0xfa);

#[derive(Debug, Clone, Copy)]
struct Rgb(u8, u8, u8);

impl Rgb {
    fn fill(self) -> Fill {
        Fill {
            paint: rgb::Color::new(self.0, self.1, self.2).into(),
            opacity: NormalizedF32::ONE,
            rule: FillRule::NonZero,
        }
    }
}

/// One thing drawn on a page; `y` grows downwards from the page's top.
enum Op {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        color: Rgb,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    /// The chart of the pack's page `page` (0-based).
    Chart {
        page: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// The pack as PDF bytes.
pub(crate) fn render(pack: &ReviewPack) -> Result<Vec<u8>, ReviewError> {
    if pack.pages.is_empty() {
        return Err(ReviewError::NoPages);
    }
    let face = Face::load()?;
    let charts = parse_charts(pack)?;
    let footer = Footer::new(&face, pack);

    let mut layout = Layout {
        face: &face,
        bottom: footer.top - 12.0,
        sheets: Vec::new(),
        ops: Vec::new(),
        y: BODY_TOP,
        title: String::new(),
        fresh: true,
    };
    for (index, (page, chart)) in pack.pages.iter().zip(&charts).enumerate() {
        layout.page(pack, page, chart.as_ref().map(|tree| (index, tree)));
    }
    let sheets = layout.finish();

    let mut document = Document::new();
    let count = sheets.len();
    for (n, ops) in sheets.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| ReviewError::Pdf("the page size is not valid".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        draw_header(&mut surface, &face, pack);
        for op in ops {
            draw(&mut surface, &face, &charts, op)?;
        }
        footer.draw(&mut surface, &face, pack, n + 1, count);
        surface.finish();
        page.finish();
    }
    document.set_metadata(
        Metadata::new()
            .title(format!(
                "{} — {} cost review",
                pack.display_name, pack.month_label
            ))
            .creator("CostCarve".into())
            .language("en".into()),
    );
    document
        .finish()
        .map_err(|e| ReviewError::Pdf(e.to_string()))
}

/// Parses each page's chart, if it has one, with DejaVu Sans as the only
/// font, the one its `sans-serif` text is drawn (and embedded) in. An image
/// the SVG would link to is left out: nothing is read from disk.
fn parse_charts(pack: &ReviewPack) -> Result<Vec<Option<usvg::Tree>>, ReviewError> {
    let mut db = fontdb::Database::new();
    let bytes: &'static [u8] = costcarve_charts::font_bytes();
    db.load_font_source(fontdb::Source::Binary(Arc::new(bytes)));
    let family = db
        .faces()
        .next()
        .and_then(|f| f.families.first())
        .map(|(name, _)| name.clone())
        .ok_or(ReviewError::Font)?;
    db.set_sans_serif_family(family.clone());
    let options = usvg::Options {
        font_family: family,
        fontdb: Arc::new(db),
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: usvg::ImageHrefResolver::default_data_resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    pack.pages
        .iter()
        .map(|page| {
            page.chart
                .as_ref()
                .map(|chart| {
                    usvg::Tree::from_str(&chart.svg, &options).map_err(|e| ReviewError::Chart {
                        id: chart.id.clone(),
                        reason: e.to_string(),
                    })
                })
                .transpose()
        })
        .collect()
}

/// Lays pages out as lists of operations.
struct Layout<'a> {
    face: &'a Face,
    /// Where the body ends (the footer's rule is below).
    bottom: f32,
    sheets: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// The top of what comes next.
    y: f32,
    /// The current page's title, for a page it continues onto.
    title: String,
    /// Whether the current sheet holds only its title so far (so going on
    /// to a new one would not help).
    fresh: bool,
}

impl Layout<'_> {
    fn finish(mut self) -> Vec<Vec<Op>> {
        if !self.ops.is_empty() {
            self.sheets.push(std::mem::take(&mut self.ops));
        }
        self.sheets
    }

    fn new_sheet(&mut self) {
        if !self.ops.is_empty() {
            self.sheets.push(std::mem::take(&mut self.ops));
        }
        self.y = BODY_TOP;
    }

    /// Makes room for `h` points, going on to a continuation page when the
    /// current one has no room and holds more than its title. Returns
    /// whether it did.
    fn need(&mut self, h: f32) -> bool {
        if self.y + h <= self.bottom || self.fresh {
            return false;
        }
        self.new_sheet();
        let title = format!("{} (continued)", self.title);
        self.heading(&title);
        true
    }

    fn text(&mut self, x: f32, baseline: f32, size: f32, color: Rgb, text: &str) {
        self.ops.push(Op::Text {
            x,
            baseline,
            size,
            color,
            text: clean(text),
        });
        self.fresh = false;
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        self.ops.push(Op::Rect { x, y, w, h, color });
    }

    /// Wrapped lines of `text` from the cursor down, each going on to a
    /// next page if needed.
    fn paragraph(&mut self, text: &str, size: f32, leading: f32, color: Rgb, width: f32) {
        for line in self.face.wrap(&clean(text), size, width) {
            self.need(leading);
            let baseline = self.y + (leading - size) / 2.0 + size * self.face.ascent;
            self.text(MARGIN, baseline, size, color, &line);
            self.y += leading;
        }
    }

    /// The page's title at the top of a sheet.
    fn heading(&mut self, title: &str) {
        for line in self.face.wrap(&clean(title), TITLE_SIZE, CONTENT_W) {
            let baseline = self.y + TITLE_SIZE * self.face.ascent;
            self.text(MARGIN, baseline, TITLE_SIZE, INK, &line);
            self.y += TITLE_LEADING;
        }
        self.y += 6.0;
        self.fresh = true;
    }

    fn page(&mut self, pack: &ReviewPack, page: &PackPage, chart: Option<(usize, &usvg::Tree)>) {
        self.new_sheet();
        self.title = page.title.clone();
        if page.id == "cover" {
            self.cover(pack, page);
        } else {
            self.heading(&page.title);
            for line in &page.lines {
                self.paragraph(line, TEXT_SIZE, TEXT_LEADING, INK, CONTENT_W);
                self.y += 4.0;
            }
        }
        if !page.figures.is_empty() {
            self.y += 8.0;
            for row in page.figures.chunks(FIGURES_PER_ROW) {
                self.figures(row);
            }
        }
        let grid = page.table.as_ref().and_then(|t| Grid::new(self.face, t));
        match (chart, grid) {
            (Some((index, tree)), Some(grid)) => self.chart_and_table(index, tree, grid),
            (Some((index, tree)), None) => self.chart(index, tree),
            (None, Some(grid)) => self.table(grid.fill(CONTENT_W)),
            (None, None) => {}
        }
    }

    /// The cover: the customer's name very large, the title under it, then
    /// the lines.
    fn cover(&mut self, pack: &ReviewPack, page: &PackPage) {
        self.y = 150.0;
        let name = clean(&pack.display_name);
        let size = self.face.fit_size(&name, 40.0, 24.0, CONTENT_W);
        for line in self.face.wrap(&name, size, CONTENT_W) {
            let baseline = self.y + size * self.face.ascent;
            self.text(MARGIN, baseline, size, INK, &line);
            self.y += size * 1.2;
        }
        self.y += 6.0;
        for line in self.face.wrap(&clean(&page.title), 20.0, CONTENT_W) {
            let baseline = self.y + 20.0 * self.face.ascent;
            self.text(MARGIN, baseline, 20.0, MUTED, &line);
            self.y += 26.0;
        }
        self.y += 10.0;
        self.rect(MARGIN, self.y, 64.0, 3.0, ACCENT);
        self.y += 24.0;
        for line in &page.lines {
            self.paragraph(line, 13.0, 19.0, INK, CONTENT_W * 0.8);
            self.y += 4.0;
        }
    }

    /// One row of headline figures, side by side on cards.
    fn figures(&mut self, row: &[KeyFigure]) {
        let face = self.face;
        let count = row.len().max(1) as f32;
        let card_w = (CONTENT_W - FIGURE_GAP * (count - 1.0)) / count;
        let inner = card_w - 2.0 * FIGURE_PAD;
        let notes: Vec<Vec<String>> = row
            .iter()
            .map(|f| {
                f.note
                    .as_deref()
                    .map(|n| {
                        let mut lines = face.wrap(&clean(n), FIGURE_NOTE_SIZE, inner);
                        if lines.len() > FIGURE_NOTE_LINES {
                            let rest = lines.split_off(FIGURE_NOTE_LINES - 1).join(" ");
                            lines.push(face.truncate(&rest, FIGURE_NOTE_SIZE, inner));
                        }
                        lines
                    })
                    .unwrap_or_default()
            })
            .collect();
        let note_lines = notes.iter().map(Vec::len).max().unwrap_or(0) as f32;
        let label_h = FIGURE_LABEL_SIZE * 1.3;
        let value_h = FIGURE_VALUE_SIZE * 1.2;
        let card_h = 2.0 * FIGURE_PAD + label_h + 4.0 + value_h + note_lines * FIGURE_NOTE_LEADING;
        self.need(card_h);
        let top = self.y;
        for (i, (figure, note)) in row.iter().zip(&notes).enumerate() {
            let x = MARGIN + i as f32 * (card_w + FIGURE_GAP);
            self.rect(x, top, card_w, card_h, CARD);
            self.rect(x, top, 3.0, card_h, ACCENT);
            let tx = x + FIGURE_PAD;
            let mut y = top + FIGURE_PAD;
            let label = face.truncate(&clean(&figure.label), FIGURE_LABEL_SIZE, inner);
            self.text(
                tx,
                y + FIGURE_LABEL_SIZE * face.ascent,
                FIGURE_LABEL_SIZE,
                MUTED,
                &label,
            );
            y += label_h + 4.0;
            let value = clean(&figure.value);
            let size = face.fit_size(&value, FIGURE_VALUE_SIZE, FIGURE_VALUE_MIN_SIZE, inner);
            let value = face.truncate(&value, size, inner);
            // Smaller values share the large ones' baseline.
            self.text(tx, y + FIGURE_VALUE_SIZE * face.ascent, size, INK, &value);
            y += value_h;
            for line in note {
                self.text(
                    tx,
                    y + FIGURE_NOTE_SIZE * face.ascent,
                    FIGURE_NOTE_SIZE,
                    MUTED,
                    line,
                );
                y += FIGURE_NOTE_LEADING;
            }
        }
        self.y = top + card_h + FIGURE_GAP;
    }

    /// A chart with a table: side by side when the table is narrow and
    /// short enough, else the table under the chart (the chart leaving it
    /// room for all its rows when that keeps the chart readable, for a few
    /// otherwise).
    fn chart_and_table(&mut self, index: usize, tree: &usvg::Tree, grid: Grid<'_>) {
        let room = self.chart_room();
        let beside = grid.snug_width();
        if beside <= CONTENT_W * SIDE_TABLE_SHARE && grid.height(grid.rows()) <= room {
            let top = self.y;
            let table = grid.fill(beside).at(MARGIN + CONTENT_W - beside);
            self.place_chart(index, tree, MARGIN, CONTENT_W - beside - SIDE_GAP, room);
            let below_chart = self.y;
            self.y = top;
            self.table(table);
            self.y = self.y.max(below_chart);
            return;
        }
        // Below the chart: its gap, then the table.
        let all = CHART_GAP + grid.height(grid.rows());
        let reserve = if room - all >= CHART_GOOD_H {
            all
        } else {
            CHART_GAP + grid.height(grid.rows().min(6))
        };
        let height = (room - reserve).max(CHART_MIN_H).min(room);
        self.place_chart(index, tree, MARGIN, CONTENT_W, height);
        self.table(grid.fill(CONTENT_W));
    }

    /// The chart across the page, as large as the room left allows.
    fn chart(&mut self, index: usize, tree: &usvg::Tree) {
        let room = self.chart_room();
        self.place_chart(index, tree, MARGIN, CONTENT_W, room);
    }

    /// The height left for a chart, on a next page when this one has less
    /// than [`CHART_MIN_H`].
    fn chart_room(&mut self) -> f32 {
        self.y += 4.0;
        if self.bottom - self.y < CHART_MIN_H {
            self.need(f32::INFINITY);
        }
        self.bottom - self.y
    }

    /// The chart scaled to fit `width` by `height` at `x` and the cursor,
    /// its aspect ratio kept, centred across `width`.
    fn place_chart(&mut self, index: usize, tree: &usvg::Tree, x: f32, width: f32, height: f32) {
        let size = tree.size();
        let (w, h) = (size.width(), size.height());
        if w <= 0.0 || h <= 0.0 || width <= 0.0 || height <= 0.0 {
            return;
        }
        let scale = (width / w).min(height / h);
        let (w, h) = (w * scale, h * scale);
        self.ops.push(Op::Chart {
            page: index,
            x: x + (width - w) / 2.0,
            y: self.y,
            w,
            h,
        });
        self.fresh = false;
        self.y += h + CHART_GAP;
    }

    /// The table: headings muted, numbers right-aligned, over-long cells
    /// cut; rows that do not fit go on to a continuation page under the
    /// headings again.
    fn table(&mut self, grid: Placed<'_>) {
        self.y += TABLE_GAP;
        self.need(TABLE_HEAD_H + TABLE_ROW_H);
        self.table_head(&grid);
        for (n, row) in grid.grid.table.rows.iter().enumerate() {
            if self.need(TABLE_ROW_H) {
                self.table_head(&grid);
            }
            if n % 2 == 1 {
                self.rect(grid.x, self.y, grid.width(), TABLE_ROW_H, STRIPE);
            }
            let cells: Vec<String> = (0..grid.widths.len()).map(|i| cell(row, i)).collect();
            self.table_row(&grid, &cells, TABLE_ROW_H, INK, |_, text| is_numeric(text));
        }
        self.y += 8.0;
    }

    fn table_head(&mut self, grid: &Placed<'_>) {
        let cells: Vec<String> = (0..grid.widths.len())
            .map(|i| cell(&grid.grid.table.columns, i))
            .collect();
        let numeric = &grid.grid.numeric;
        self.table_row(grid, &cells, TABLE_HEAD_H, MUTED, |i, _| numeric[i]);
        self.rect(grid.x, self.y - 1.0, grid.width(), 0.75, RULE);
    }

    fn table_row(
        &mut self,
        grid: &Placed<'_>,
        cells: &[String],
        h: f32,
        color: Rgb,
        right: impl Fn(usize, &str) -> bool,
    ) {
        let face = self.face;
        let baseline = self.y + h / 2.0 + TABLE_SIZE * 0.36;
        let mut x = grid.x;
        for (i, (text, w)) in cells.iter().zip(&grid.widths).enumerate() {
            let shown = face.truncate(text, TABLE_SIZE, w - 2.0 * CELL_PAD);
            if !shown.is_empty() {
                let tx = if right(i, text) {
                    x + w - CELL_PAD - face.width(&shown, TABLE_SIZE)
                } else {
                    x + CELL_PAD
                };
                self.text(tx, baseline, TABLE_SIZE, color, &shown);
            }
            x += w;
        }
        self.y += h;
    }
}

/// A cell of a row, one line; empty when the row is short.
fn cell(row: &[String], i: usize) -> String {
    row.get(i).map(|c| clean(c)).unwrap_or_default()
}

/// A table's columns: which are numeric, how wide their widest cell is.
struct Grid<'a> {
    table: &'a PackTable,
    natural: Vec<f32>,
    numeric: Vec<bool>,
}

impl<'a> Grid<'a> {
    /// `None` for a table with no column at all.
    fn new(face: &Face, table: &'a PackTable) -> Option<Self> {
        let columns = table
            .rows
            .iter()
            .map(Vec::len)
            .chain([table.columns.len()])
            .max()
            .filter(|n| *n > 0)?;
        let numeric = (0..columns)
            .map(|i| {
                let mut cells = table
                    .rows
                    .iter()
                    .map(|r| cell(r, i))
                    .filter(|c| !c.is_empty())
                    .peekable();
                cells.peek().is_some() && cells.all(|c| is_numeric(&c))
            })
            .collect();
        let natural = (0..columns)
            .map(|i| {
                table
                    .rows
                    .iter()
                    .map(|r| cell(r, i))
                    .chain([cell(&table.columns, i)])
                    .map(|c| face.width(&c, TABLE_SIZE))
                    .fold(0.0, f32::max)
                    + 2.0 * CELL_PAD
            })
            .collect();
        Some(Self {
            table,
            natural,
            numeric,
        })
    }

    fn rows(&self) -> usize {
        self.table.rows.len()
    }

    /// The height of the table's headings and first `rows` rows, with the
    /// gap above them.
    fn height(&self, rows: usize) -> f32 {
        TABLE_GAP + TABLE_HEAD_H + TABLE_ROW_H * rows as f32
    }

    /// Its natural width with some air for the numbers.
    fn snug_width(&self) -> f32 {
        let air = self.numeric.iter().filter(|n| **n).count() as f32 * NUMBER_AIR;
        self.natural.iter().sum::<f32>() + air
    }

    /// Its columns fitted to `width`, at the left margin.
    fn fill(self, width: f32) -> Placed<'a> {
        let widths = column_widths(&self.natural, &self.numeric, width);
        Placed {
            grid: self,
            widths,
            x: MARGIN,
        }
    }
}

/// A table with its column widths and left edge.
struct Placed<'a> {
    grid: Grid<'a>,
    widths: Vec<f32>,
    x: f32,
}

impl Placed<'_> {
    fn at(self, x: f32) -> Self {
        Self { x, ..self }
    }

    fn width(&self) -> f32 {
        self.widths.iter().sum()
    }
}

/// Column widths filling `total`: each column's natural width, numeric
/// columns a little more, the first text column what is left over; when
/// they do not fit, the widest are narrowed to a common width.
fn column_widths(natural: &[f32], numeric: &[bool], total: f32) -> Vec<f32> {
    let sum: f32 = natural.iter().sum();
    if sum <= total {
        let mut widths = natural.to_vec();
        let mut spare = total - sum;
        // Some air between figures first, then the rest to the names.
        for (w, _) in widths.iter_mut().zip(numeric).filter(|(_, n)| **n) {
            let more = NUMBER_AIR.min(spare);
            *w += more;
            spare -= more;
        }
        match numeric.iter().position(|n| !n) {
            Some(i) => widths[i] += spare,
            None => {
                let each = spare / widths.len().max(1) as f32;
                widths.iter_mut().for_each(|w| *w += each);
            }
        }
        return widths;
    }
    // The cap c with sum(min(natural, c)) == total.
    let mut sorted = natural.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mut below = 0.0;
    let mut cap = total / natural.len().max(1) as f32;
    for (k, w) in sorted.iter().enumerate() {
        let rest = (sorted.len() - k) as f32;
        let candidate = (total - below) / rest;
        if *w >= candidate {
            cap = candidate;
            break;
        }
        below += w;
    }
    natural.iter().map(|w| w.min(cap)).collect()
}

/// A cell shown right-aligned: an amount, a change or a count.
fn is_numeric(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || "$€£¥₹₩¢-+−".contains(c))
}

/// One line: control characters (line breaks, tabs) as spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The footer, the same on every page but for the page number: the basis
/// (smaller, or on more lines, when long) on the left, the date, whether
/// estimated and the page on the right.
struct Footer {
    /// The rule's y.
    top: f32,
    basis_size: f32,
    basis: Vec<String>,
}

impl Footer {
    fn new(face: &Face, pack: &ReviewPack) -> Self {
        // Room for the longest right-hand side a pack can have.
        let right = face.width(&right_side(pack, 9999, 9999), FOOTER_SIZE);
        let room = CONTENT_W - right - 24.0;
        let basis = clean(&pack.basis);
        let basis_size = face.fit_size(&basis, FOOTER_SIZE, FOOTER_MIN_SIZE, room);
        let lines = face.wrap(&basis, basis_size, room);
        let first = FOOTER_LAST_BASELINE - (lines.len().max(1) - 1) as f32 * FOOTER_LEADING;
        Self {
            top: first - FOOTER_SIZE - 6.0,
            basis_size,
            basis: lines,
        }
    }

    fn draw(&self, surface: &mut Surface, face: &Face, pack: &ReviewPack, n: usize, count: usize) {
        fill_rect(surface, MARGIN, self.top, CONTENT_W, 0.5, RULE);
        let first = self.top + FOOTER_SIZE + 6.0;
        for (i, line) in self.basis.iter().enumerate() {
            let baseline = first + i as f32 * FOOTER_LEADING;
            draw_text(surface, face, MARGIN, baseline, self.basis_size, INK, line);
        }
        let right = right_side(pack, n, count);
        let x = PAGE_W - MARGIN - face.width(&right, FOOTER_SIZE);
        draw_text(surface, face, x, first, FOOTER_SIZE, MUTED, &right);
    }
}

fn right_side(pack: &ReviewPack, n: usize, count: usize) -> String {
    let mut parts = vec![format!("Data as of {}", clean(&pack.data_as_of))];
    if pack.estimated {
        parts.push("Estimated".into());
    }
    parts.push(format!("Page {n} of {count}"));
    parts.join("  ·  ")
}

/// The customer's name on the left, the month on the right, a rule under.
fn draw_header(surface: &mut Surface, face: &Face, pack: &ReviewPack) {
    let month = clean(&pack.month_label);
    let month_w = face.width(&month, HEADER_SIZE);
    let name = face.truncate(
        &clean(&pack.display_name),
        HEADER_SIZE,
        CONTENT_W - month_w - 24.0,
    );
    draw_text(
        surface,
        face,
        MARGIN,
        HEADER_BASELINE,
        HEADER_SIZE,
        INK,
        &name,
    );
    let x = PAGE_W - MARGIN - month_w;
    draw_text(
        surface,
        face,
        x,
        HEADER_BASELINE,
        HEADER_SIZE,
        MUTED,
        &month,
    );
    fill_rect(surface, MARGIN, HEADER_RULE, CONTENT_W, 0.5, RULE);
}

fn draw(
    surface: &mut Surface,
    face: &Face,
    charts: &[Option<usvg::Tree>],
    op: &Op,
) -> Result<(), ReviewError> {
    match op {
        Op::Text {
            x,
            baseline,
            size,
            color,
            text,
        } => draw_text(surface, face, *x, *baseline, *size, *color, text),
        Op::Rect { x, y, w, h, color } => fill_rect(surface, *x, *y, *w, *h, *color),
        Op::Chart { page, x, y, w, h } => {
            let failed = || {
                ReviewError::Pdf(format!(
                    "the chart of the pack's page {} could not be drawn",
                    page + 1
                ))
            };
            let tree = charts
                .get(*page)
                .and_then(Option::as_ref)
                .ok_or_else(failed)?;
            let size = Size::from_wh(*w, *h).ok_or_else(failed)?;
            surface.push_transform(&Transform::from_translate(*x, *y));
            let drawn = surface.draw_svg(tree, size, SvgSettings::default());
            surface.pop();
            drawn.ok_or_else(failed)?;
        }
    }
    Ok(())
}

/// One string as one run of glyphs (so text extraction keeps it whole).
fn draw_text(
    surface: &mut Surface,
    face: &Face,
    x: f32,
    baseline: f32,
    size: f32,
    color: Rgb,
    text: &str,
) {
    if text.is_empty() {
        return;
    }
    surface.set_stroke(None);
    surface.set_fill(Some(color.fill()));
    let glyphs = face.shape(text);
    surface.draw_glyphs(
        Point::from_xy(x, baseline),
        &glyphs,
        face.font(),
        text,
        size,
        false,
    );
}

fn fill_rect(surface: &mut Surface, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
    let Some(rect) = Rect::from_xywh(x, y, w, h) else {
        return;
    };
    let mut path = PathBuilder::new();
    path.push_rect(rect);
    if let Some(path) = path.finish() {
        surface.set_stroke(None);
        surface.set_fill(Some(color.fill()));
        surface.draw_path(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_cells() {
        for yes in ["$12,345.67", "-4.2%", "+3", "12", "€5", "£1"] {
            assert!(is_numeric(yes), "{yes}");
        }
        for no in ["", "Amazon EC2", "n/a", "USD"] {
            assert!(!is_numeric(no), "{no}");
        }
    }

    #[test]
    fn columns_fill_the_width() {
        let w = column_widths(&[100.0, 50.0, 50.0], &[false, true, true], 400.0);
        assert_eq!(w, vec![252.0, 74.0, 74.0]);
        let w = column_widths(&[100.0, 50.0, 50.0], &[false, true, true], 210.0);
        assert_eq!(w, vec![100.0, 60.0, 50.0]);
        let w = column_widths(&[500.0, 60.0, 300.0], &[false, true, true], 400.0);
        assert!((w.iter().sum::<f32>() - 400.0).abs() < 0.01, "{w:?}");
        assert_eq!(w[1], 60.0);
        assert!(w[0] == w[2] && w[0] < 300.0, "{w:?}");
    }
}

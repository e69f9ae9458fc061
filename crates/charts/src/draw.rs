//! Drawing a [`Model`] on any plotters backend, so SVG and PNG share one
//! layout.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::format::{money_full, money_short, money_tick, period_label};
use crate::model::Model;
use crate::typeset::FAMILY;
use crate::{ChartError, ChartKind, ChartOptions};

type Area<DB> = DrawingArea<DB, Shift>;

const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
const AXIS: RGBColor = RGBColor(0x88, 0x88, 0x88);
const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);

/// The message drawn instead of a chart when there is nothing to show.
pub(crate) const NO_COSTS: &str = "No costs in this range";

fn draw_err(e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Font sizes and spacing, grown with the canvas and for large type.
struct Sizes {
    title: f64,
    subtitle: f64,
    axis: f64,
    legend: f64,
    value: f64,
    margin: i32,
    line: u32,
    marker: i32,
}

impl Sizes {
    fn new(opts: &ChartOptions) -> Self {
        let fit = (f64::from(opts.width) / 1200.0)
            .min(f64::from(opts.height) / 675.0)
            .clamp(0.8, 3.0);
        let k = fit * if opts.large_type { 1.6 } else { 1.0 };
        Self {
            title: 28.0 * k,
            subtitle: 17.0 * k,
            axis: 16.0 * k,
            legend: 16.0 * k,
            value: 14.0 * k,
            margin: px(14.0 * k),
            line: px(2.5 * k).max(1).unsigned_abs(),
            marker: px(3.5 * k).max(2),
        }
    }
}

/// Rounds a layout length to whole pixels.
fn px(v: f64) -> i32 {
    // Every length here is a few thousand pixels at most.
    v.round() as i32
}

fn style(size: f64, colour: &'static RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font())
        .color(colour)
        .pos(Pos::new(h, v))
}

/// An axis of `n` slots (periods or bars) centred on `0.0, 1.0, ...`, ticked
/// and labelled only at `keys`. (plotters' own `with_key_points` on an `f64`
/// range loses the custom label formatter.)
struct Slots {
    n: usize,
    keys: Vec<f64>,
}

impl Slots {
    fn lo(&self) -> f64 {
        -0.5
    }
    fn hi(&self) -> f64 {
        self.n.max(1) as f64 - 0.5
    }
}

impl Ranged for Slots {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let share = (v - self.lo()) / (self.hi() - self.lo());
        let len = f64::from(limit.1 - limit.0);
        limit.0 + px(len * share)
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo()..self.hi()
    }
}

fn text_width<DB: DrawingBackend>(
    area: &Area<DB>,
    text: &str,
    style: &TextStyle,
) -> Result<i32, ChartError> {
    let (w, _) = area.estimate_text_size(text, style).map_err(draw_err)?;
    Ok(i32::try_from(w).unwrap_or(i32::MAX))
}

/// `text`, cut short with an ellipsis if it is wider than `max` pixels.
fn fit<DB: DrawingBackend>(
    area: &Area<DB>,
    text: &str,
    style: &TextStyle,
    max: i32,
) -> Result<String, ChartError> {
    if text_width(area, text, style)? <= max {
        return Ok(text.to_string());
    }
    let chars: Vec<char> = text.chars().collect();
    for n in (1..chars.len()).rev() {
        let candidate: String = chars[..n].iter().chain(['…'].iter()).collect();
        if text_width(area, &candidate, style)? <= max {
            return Ok(candidate);
        }
    }
    Ok("…".into())
}

/// Draws the whole chart on `root`.
pub(crate) fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    model: &Model,
    opts: &ChartOptions,
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(draw_err)?;
    let s = Sizes::new(opts);
    let body = header(root, model, opts, &s)?;
    if model.is_empty() {
        return no_costs(&body, &s);
    }
    match opts.kind {
        ChartKind::StackedByService => {
            with_legend(&body, model, &s, |area| stacked_bars(area, model, &s))
        }
        ChartKind::DailyLine => with_legend(&body, model, &s, |area| lines(area, model, &s)),
        ChartKind::ByAccount => account_bars(&body, model, &s),
    }
}

/// The title and a line saying what range and total the chart shows; returns
/// the area below them.
fn header<DB: DrawingBackend>(
    root: &Area<DB>,
    model: &Model,
    opts: &ChartOptions,
    s: &Sizes,
) -> Result<Area<DB>, ChartError> {
    let (w, _) = root.dim_in_pixel();
    let max_w = i32::try_from(w).unwrap_or(i32::MAX) - 2 * s.margin;
    let mut y = s.margin;
    if !opts.title.trim().is_empty() {
        let st = style(s.title, &INK, HPos::Left, VPos::Top);
        let title = fit(root, opts.title.trim(), &st, max_w)?;
        root.draw(&Text::new(title, (s.margin, y), st))
            .map_err(draw_err)?;
        y += px(s.title * 1.05);
    }
    if let Some((first, last)) = model.range {
        let mut line = period_label(model.granularity, first);
        if last != first {
            line = format!("{line} to {}", period_label(model.granularity, last));
        }
        if !model.is_empty() {
            line = format!(
                "{line}  ·  total {} {}",
                money_full(&model.prefix, model.total),
                model.currency
            );
        }
        let st = style(s.subtitle, &MUTED, HPos::Left, VPos::Top);
        let line = fit(root, &line, &st, max_w)?;
        root.draw(&Text::new(line, (s.margin, y), st))
            .map_err(draw_err)?;
        y += px(s.subtitle * 1.1);
    }
    if !opts.caption.trim().is_empty() {
        let st = style(s.subtitle, &MUTED, HPos::Left, VPos::Top);
        let line = fit(root, opts.caption.trim(), &st, max_w)?;
        root.draw(&Text::new(line, (s.margin, y), st))
            .map_err(draw_err)?;
        y += px(s.subtitle * 1.1);
    }
    if y == s.margin {
        return Ok(root.clone());
    }
    let (_, body) = root.split_vertically(y);
    Ok(body)
}

fn no_costs<DB: DrawingBackend>(area: &Area<DB>, s: &Sizes) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let centre = (
        i32::try_from(w / 2).unwrap_or(0),
        i32::try_from(h / 2).unwrap_or(0),
    );
    let st = style(s.title, &MUTED, HPos::Center, VPos::Center);
    area.draw(&Text::new(NO_COSTS, centre, st))
        .map_err(draw_err)
}

/// Splits off a legend panel on the right when the series is grouped, draws
/// it, and draws the chart with `plot` on the rest.
fn with_legend<DB: DrawingBackend>(
    body: &Area<DB>,
    model: &Model,
    s: &Sizes,
    plot: impl FnOnce(&Area<DB>) -> Result<(), ChartError>,
) -> Result<(), ChartError> {
    if !model.grouped {
        return plot(body);
    }
    let (w, _) = body.dim_in_pixel();
    let w = i32::try_from(w).unwrap_or(i32::MAX);
    let name_style = style(s.legend, &INK, HPos::Left, VPos::Center);
    let amount_style = style(s.legend, &MUTED, HPos::Right, VPos::Center);
    let heading_style = style(s.legend, &MUTED, HPos::Left, VPos::Top);
    let swatch = px(s.legend * 0.75);
    let gap = px(s.legend * 0.6);
    let pad = s.margin;

    let amounts: Vec<String> = model
        .groups
        .iter()
        .map(|g| money_short(&model.prefix, g.total))
        .collect();
    let mut amount_w = 0;
    for a in &amounts {
        amount_w = amount_w.max(text_width(body, a, &amount_style)?);
    }
    let mut name_w = text_width(body, &model.dimension, &heading_style)? - swatch - gap;
    for g in &model.groups {
        name_w = name_w.max(text_width(body, &g.name, &name_style)?);
    }
    let fixed = pad + swatch + gap + 2 * gap + amount_w + pad;
    let legend_w = (fixed + name_w).min(w * 36 / 100).max(fixed + swatch);
    let name_max = legend_w - fixed;

    let (plot_area, legend) = body.split_horizontally(w - legend_w);
    plot(&plot_area)?;

    let row = px(s.legend * 1.75);
    let mut y = s.margin;
    legend
        .draw(&Text::new(model.dimension.clone(), (pad, y), heading_style))
        .map_err(draw_err)?;
    y += row;
    for (g, amount) in model.groups.iter().zip(&amounts) {
        let mid = y + row / 2;
        legend
            .draw(&Rectangle::new(
                [(pad, mid - swatch / 2), (pad + swatch, mid + swatch / 2)],
                g.colour.filled(),
            ))
            .map_err(draw_err)?;
        let name = fit(&legend, &g.name, &name_style, name_max)?;
        legend
            .draw(&Text::new(
                name,
                (pad + swatch + gap, mid),
                name_style.clone(),
            ))
            .map_err(draw_err)?;
        legend
            .draw(&Text::new(
                amount.clone(),
                (legend_w - pad, mid),
                amount_style.clone(),
            ))
            .map_err(draw_err)?;
        y += row;
    }
    Ok(())
}

/// Nice-looking step between labelled periods so that labels never overlap.
fn label_step(model: &Model, plot_w: i32, label_w: i32) -> usize {
    let n = model.periods.len();
    let room = usize::try_from((plot_w / label_w.max(1)).max(1)).unwrap_or(1);
    let steps: &[usize] = match model.granularity {
        costcarve_core::cost::Granularity::Monthly => &[1, 2, 3, 4, 6, 12, 24, 60, 120],
        costcarve_core::cost::Granularity::Daily => &[1, 2, 3, 7, 14, 28, 56, 91, 182, 364],
    };
    steps
        .iter()
        .copied()
        .find(|step| n.div_ceil(*step) <= room)
        .unwrap_or_else(|| n.div_ceil(room))
}

/// `v` as an integer index into `0..n`, when it is (almost exactly) one.
fn as_index(v: f64, n: usize) -> Option<usize> {
    let r = v.round();
    if (v - r).abs() > 1e-6 || r < 0.0 || r >= n as f64 {
        return None;
    }
    // In range of 0..n, checked above.
    Some(r as usize)
}

/// Low and high ends of a value axis with headroom above the data.
fn value_range(lo: f64, hi: f64, headroom: f64) -> (f64, f64) {
    let lo = lo.min(0.0);
    let hi = hi.max(0.0);
    let span = if hi - lo > 0.0 { hi - lo } else { 1.0 };
    let lo = if lo < 0.0 { lo - span * 0.05 } else { 0.0 };
    (lo, hi + span * headroom)
}

/// The pixel width the value axis' labels need.
fn value_label_width<DB: DrawingBackend>(
    area: &Area<DB>,
    model: &Model,
    lo: f64,
    hi: f64,
    st: &TextStyle,
) -> Result<i32, ChartError> {
    let mut w = 0;
    for v in [lo, hi, hi * 0.95, hi * 0.55, lo * 0.55] {
        w = w.max(text_width(area, &money_tick(&model.prefix, v), st)?);
    }
    Ok(w)
}

/// The time axis shared by bar and line charts: labels at chosen periods.
struct TimeAxis {
    keys: Vec<f64>,
    labels: Vec<String>,
}

impl TimeAxis {
    fn new<DB: DrawingBackend>(
        area: &Area<DB>,
        model: &Model,
        plot_w: i32,
        st: &TextStyle,
    ) -> Result<Self, ChartError> {
        let labels: Vec<String> = model
            .periods
            .iter()
            .map(|p| period_label(model.granularity, *p))
            .collect();
        let sample = labels.first().map(String::as_str).unwrap_or("2025-11-30");
        let label_w = text_width(area, sample, st)? + px(st.font.get_size() * 1.2);
        let step = label_step(model, plot_w, label_w);
        let keys = (0..labels.len())
            .step_by(step.max(1))
            .map(|i| i as f64)
            .collect();
        Ok(Self { keys, labels })
    }

    fn label(&self, v: f64) -> String {
        as_index(v, self.labels.len())
            .and_then(|i| self.labels.get(i).cloned())
            .unwrap_or_default()
    }
}

/// Monthly (or daily) stacked bars, the largest group at the bottom, with
/// the period's total above each bar when there is room.
fn stacked_bars<DB: DrawingBackend>(
    area: &Area<DB>,
    model: &Model,
    s: &Sizes,
) -> Result<(), ChartError> {
    let n = model.periods.len();
    let mut up = vec![0.0f64; n];
    let mut down = vec![0.0f64; n];
    let mut rects = Vec::new();
    for g in &model.groups {
        for (i, v) in g.values.iter().enumerate() {
            let (base, top) = if *v > 0.0 {
                let base = up[i];
                up[i] += v;
                (base, up[i])
            } else if *v < 0.0 {
                let base = down[i];
                down[i] += v;
                (base, down[i])
            } else {
                continue;
            };
            rects.push((g.colour, i, base, top));
        }
    }
    let hi = up.iter().copied().fold(0.0, f64::max);
    let lo = down.iter().copied().fold(0.0, f64::min);

    let axis_style = style(s.axis, &MUTED, HPos::Center, VPos::Top);
    let value_style = style(s.value, &INK, HPos::Center, VPos::Bottom);
    let (w, _) = area.dim_in_pixel();
    let w = i32::try_from(w).unwrap_or(i32::MAX);
    let y_label_w = value_label_width(area, model, lo, hi, &axis_style)? + s.margin;
    let plot_w = (w - y_label_w - 2 * s.margin).max(1);

    // Totals above the bars, when each fits over its own bar.
    let totals: Vec<String> = up.iter().map(|v| money_short(&model.prefix, *v)).collect();
    let mut widest = 0;
    for t in &totals {
        widest = widest.max(text_width(area, t, &value_style)?);
    }
    let slot = plot_w / i32::try_from(n).unwrap_or(i32::MAX).max(1);
    let show_totals = widest < slot * 9 / 10;

    let (lo, hi) = value_range(lo, hi, if show_totals { 0.12 } else { 0.05 });
    let time = TimeAxis::new(area, model, plot_w, &axis_style)?;
    let x_fmt = |v: &f64| time.label(*v);
    let y_fmt = |v: &f64| money_tick(&model.prefix, *v);
    let mut chart = ChartBuilder::on(area)
        .margin(s.margin)
        .x_label_area_size(px(s.axis * 1.6))
        .y_label_area_size(y_label_w)
        .build_cartesian_2d(
            Slots {
                n,
                keys: time.keys.clone(),
            },
            lo..hi,
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(0)
        .y_labels(8)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style(axis_style)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(draw_err)?;

    let half = 0.36;
    chart
        .draw_series(rects.iter().map(|(colour, i, base, top)| {
            let x = *i as f64;
            Rectangle::new([(x - half, *base), (x + half, *top)], colour.filled())
        }))
        .map_err(draw_err)?;
    if lo < 0.0 {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(-0.5, 0.0), (n as f64 - 0.5, 0.0)],
                AXIS,
            )))
            .map_err(draw_err)?;
    }
    if show_totals {
        chart
            .draw_series(
                totals
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| up[*i] > 0.0)
                    .map(|(i, t)| {
                        EmptyElement::at((i as f64, up[i]))
                            + Text::new(t.clone(), (0, -px(s.value * 0.35)), value_style.clone())
                    }),
            )
            .map_err(draw_err)?;
    }
    Ok(())
}

/// One line per group (or one line of totals), the largest drawn last so it
/// stays on top; markers on each point when there are few.
fn lines<DB: DrawingBackend>(area: &Area<DB>, model: &Model, s: &Sizes) -> Result<(), ChartError> {
    let n = model.periods.len();
    let all = model.groups.iter().flat_map(|g| g.values.iter().copied());
    let hi = all.clone().fold(0.0, f64::max);
    let lo = all.fold(0.0, f64::min);
    let (lo, hi) = value_range(lo, hi, 0.08);

    let axis_style = style(s.axis, &MUTED, HPos::Center, VPos::Top);
    let (w, _) = area.dim_in_pixel();
    let w = i32::try_from(w).unwrap_or(i32::MAX);
    let y_label_w = value_label_width(area, model, lo, hi, &axis_style)? + s.margin;
    let plot_w = (w - y_label_w - 2 * s.margin).max(1);
    let time = TimeAxis::new(area, model, plot_w, &axis_style)?;
    let x_fmt = |v: &f64| time.label(*v);
    let y_fmt = |v: &f64| money_tick(&model.prefix, *v);
    let mut chart = ChartBuilder::on(area)
        .margin(s.margin)
        .x_label_area_size(px(s.axis * 1.6))
        .y_label_area_size(y_label_w)
        .build_cartesian_2d(
            Slots {
                n,
                keys: time.keys.clone(),
            },
            lo..hi,
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .max_light_lines(0)
        .y_labels(8)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style(axis_style)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(draw_err)?;

    let markers = n <= 62;
    for g in model.groups.iter().rev() {
        let points: Vec<(f64, f64)> = g
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, *v))
            .collect();
        // Segment by segment: plotters' thick polylines get ragged, doubled
        // edges at the joints; separate segments with round dots over the
        // joints stay clean.
        let stroke = g.colour.stroke_width(s.line);
        chart
            .draw_series(
                points
                    .windows(2)
                    .map(|w| PathElement::new(w.to_vec(), stroke)),
            )
            .map_err(draw_err)?;
        let dot = if markers {
            s.marker
        } else {
            i32::try_from(s.line / 2).unwrap_or(0)
        };
        if dot > 0 {
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new(*p, dot, g.colour.filled())),
                )
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Horizontal bars of each group's total, largest at the top, the amount
/// written at the end of each bar.
fn account_bars<DB: DrawingBackend>(
    area: &Area<DB>,
    model: &Model,
    s: &Sizes,
) -> Result<(), ChartError> {
    let n = model.groups.len();
    let axis_style = style(s.axis, &MUTED, HPos::Center, VPos::Top);
    let name_style = style(s.axis, &INK, HPos::Right, VPos::Center);
    let value_style = style(s.value, &INK, HPos::Left, VPos::Center);
    let (w, _) = area.dim_in_pixel();
    let w = i32::try_from(w).unwrap_or(i32::MAX);

    let mut names = Vec::with_capacity(n);
    let mut name_w = 0;
    for g in &model.groups {
        let name = fit(area, &g.name, &name_style, w * 35 / 100)?;
        name_w = name_w.max(text_width(area, &name, &name_style)?);
        names.push(name);
    }
    let values: Vec<String> = model
        .groups
        .iter()
        .map(|g| money_short(&model.prefix, g.total))
        .collect();
    let mut value_w = 0;
    for v in &values {
        value_w = value_w.max(text_width(area, v, &value_style)?);
    }

    let hi = model.groups.iter().map(|g| g.total).fold(0.0, f64::max);
    let lo = model.groups.iter().map(|g| g.total).fold(0.0, f64::min);
    // Headroom so the widest amount fits right of the longest bar.
    let plot_w = (w - name_w - 3 * s.margin).max(1);
    let label_share = f64::from(value_w + s.margin) / f64::from(plot_w);
    let (lo, hi) = value_range(
        lo,
        hi,
        (label_share / (1.0 - label_share).max(0.2)).max(0.05),
    );

    // Group k is drawn at y = n - 1 - k, so the largest is at the top.
    let y_of = |k: usize| (n - 1 - k) as f64;
    let y_fmt = |v: &f64| {
        as_index(*v, n)
            .and_then(|j| names.get(n - 1 - j).cloned())
            .unwrap_or_default()
    };
    let x_fmt = |v: &f64| money_tick(&model.prefix, *v);
    let mut chart = ChartBuilder::on(area)
        .margin(s.margin)
        .x_label_area_size(px(s.axis * 1.6))
        .y_label_area_size(name_w + s.margin)
        .build_cartesian_2d(
            lo..hi,
            Slots {
                n,
                keys: (0..n).map(|i| i as f64).collect(),
            },
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(0)
        .x_labels(8)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_label_style(axis_style)
        .y_label_style(name_style)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(draw_err)?;

    let half = 0.34;
    chart
        .draw_series(model.groups.iter().enumerate().map(|(k, g)| {
            let y = y_of(k);
            Rectangle::new([(0.0, y - half), (g.total, y + half)], g.colour.filled())
        }))
        .map_err(draw_err)?;
    chart
        .draw_series(
            model
                .groups
                .iter()
                .zip(values)
                .enumerate()
                .map(|(k, (g, v))| {
                    EmptyElement::at((g.total.max(0.0), y_of(k)))
                        + Text::new(v, (px(s.value * 0.4), 0), value_style.clone())
                }),
        )
        .map_err(draw_err)?;
    Ok(())
}

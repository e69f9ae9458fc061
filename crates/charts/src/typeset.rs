//! The embedded font, and a backend wrapper that measures (and, for bitmaps,
//! draws) text with it.
//!
//! plotters' own `ab_glyph` text drawing snaps every glyph to a whole pixel
//! and drops its side bearing, which leaves uneven gaps inside words
//! ("AWSDataT ransfer"). [`Typeset`] lays text out itself: glyphs at
//! fractional positions with kerning, anchored on the cap height so labels
//! line up with the swatches and ticks they belong to. Both the SVG and the
//! PNG backend are wrapped so the two formats share one layout.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use plotters::style::FontStyle;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

use crate::ChartError;

/// DejaVu Sans (see `fonts/LICENSE`).
static FONT_BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// The embedded font's bytes (DejaVu Sans), for whatever draws the charts'
/// SVG text again (a PDF writer embeds it).
pub fn font_bytes() -> &'static [u8] {
    FONT_BYTES
}

/// The family every chart text is drawn in.
pub(crate) const FAMILY: &str = "sans-serif";

/// plotters' font size is 1.24 times the em (its SVG backend writes
/// `font-size = size / 1.24`).
const SIZE_PER_EM: f64 = 1.24;

/// Where the baseline sits below a top-anchored point, in em (as plotters'
/// SVG backend does with `dy="0.76em"`).
const TOP_TO_BASELINE: f32 = 0.76;

/// DejaVu Sans' cap height (1493 of 2048 units): centred text centres capitals
/// and digits on the anchor point.
const CAP_HEIGHT: f32 = 0.729;

/// DejaVu Sans' descent (483 of 2048 units).
const DESCENT: f32 = 0.236;

/// The embedded font, parsed once; also registered with plotters as
/// `sans-serif` (for anything plotters measures itself).
pub(crate) fn font() -> Result<&'static FontRef<'static>, ChartError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| {
        let registered =
            plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok();
        let parsed = FontRef::try_from_slice(FONT_BYTES).ok();
        parsed.filter(|_| registered)
    })
    .as_ref()
    .ok_or(ChartError::Font)
}

/// A line of text laid out at a plotters font size.
struct Line {
    scale: PxScale,
    em: f32,
    glyphs: Vec<(GlyphId, f32)>,
    width: f32,
}

fn layout(font: &FontRef<'static>, size: f64, text: &str) -> Line {
    // Sizes are at most a few hundred pixels.
    let em = (size / SIZE_PER_EM) as f32;
    // ab_glyph scales by ascent-to-descent height, not by em.
    let scale = match font.units_per_em() {
        Some(upem) if upem > 0.0 => PxScale::from(em * font.height_unscaled() / upem),
        _ => PxScale::from(em),
    };
    let scaled = font.as_scaled(scale);
    let mut glyphs = Vec::with_capacity(text.len());
    let mut caret = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    Line {
        scale,
        em,
        glyphs,
        width: caret,
    }
}

/// A backend whose text is measured with the embedded font and, when
/// `rasterise` is set, drawn with it too (for bitmaps; SVG keeps `<text>`).
pub(crate) struct Typeset<DB> {
    inner: DB,
    font: &'static FontRef<'static>,
    rasterise: bool,
}

impl<DB: DrawingBackend> Typeset<DB> {
    /// Wraps a bitmap backend: text is rasterised here.
    pub fn raster(inner: DB, font: &'static FontRef<'static>) -> Self {
        Self {
            inner,
            font,
            rasterise: true,
        }
    }

    /// Wraps a vector backend: text is measured here, drawn by `inner`.
    pub fn vector(inner: DB, font: &'static FontRef<'static>) -> Self {
        Self {
            inner,
            font,
            rasterise: false,
        }
    }
}

type Res<E> = Result<(), DrawingErrorKind<E>>;

impl<DB: DrawingBackend> DrawingBackend for Typeset<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Res<Self::ErrorType> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Res<Self::ErrorType> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Res<Self::ErrorType> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Res<Self::ErrorType> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Res<Self::ErrorType> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Res<Self::ErrorType> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Res<Self::ErrorType> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Res<Self::ErrorType> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Res<Self::ErrorType> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let line = layout(self.font, style.size(), text);
        // Both are small positive pixel counts.
        Ok((
            line.width.max(0.0).ceil() as u32,
            line.em.max(0.0).ceil() as u32,
        ))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Res<Self::ErrorType> {
        if !self.rasterise || !matches!(style.transform(), FontTransform::None) {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha <= 0.0 {
            return Ok(());
        }
        let line = layout(self.font, style.size(), text);
        let anchor = style.anchor();
        // Pixel coordinates are small integers; f32 holds them exactly.
        let left = pos.0 as f32
            - match anchor.h_pos {
                HPos::Left => 0.0,
                HPos::Center => line.width / 2.0,
                HPos::Right => line.width,
            };
        let baseline = pos.1 as f32
            + line.em
                * match anchor.v_pos {
                    VPos::Top => TOP_TO_BASELINE,
                    VPos::Center => CAP_HEIGHT / 2.0,
                    VPos::Bottom => -DESCENT,
                };
        let mut pixels: Vec<(BackendCoord, f32)> = Vec::new();
        for (id, x) in &line.glyphs {
            let glyph = id.with_scale_and_position(line.scale, point(left + x, baseline));
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                // Glyph bounds are whole pixels within the canvas' range.
                let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
                outline.draw(|x, y, coverage| {
                    if coverage > 0.0 {
                        pixels.push(((bx + x as i32, by + y as i32), coverage.min(1.0)));
                    }
                });
            }
        }
        for (at, coverage) in pixels {
            self.inner.draw_pixel(
                at,
                BackendColor {
                    alpha: color.alpha * f64::from(coverage),
                    rgb: color.rgb,
                },
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_loads_and_measures_text() {
        let font = font().unwrap();
        let line = layout(font, 1.24 * 20.0, "AWSDataTransfer");
        assert!((line.em - 20.0).abs() < 1e-4);
        assert!(line.width > 100.0 && line.width < 200.0, "{}", line.width);
        // Kerning pulls "AV" closer than "A" and "V" apart.
        let av = layout(font, 24.8, "AV").width;
        let a = layout(font, 24.8, "A").width;
        let v = layout(font, 24.8, "V").width;
        assert!(av < a + v);
    }
}

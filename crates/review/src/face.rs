//! The one font of the PDF's own text (DejaVu Sans, the charts' font): glyphs
//! from its character map, widths from its advance widths, so what is
//! measured to wrap or fit a line is exactly what is drawn.

use std::ops::Range;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use crate::write::ReviewError;

/// The ellipsis put after a truncated text.
const ELLIPSIS: char = '…';

/// DejaVu Sans, parsed once for layout and once for krilla.
pub(crate) struct Face {
    font: Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
    /// Ascent as a share of the em (for placing a line's top).
    pub ascent: f32,
}

impl Face {
    /// Loads the charts' font.
    pub fn load() -> Result<Self, ReviewError> {
        let bytes: &'static [u8] = costcarve_charts::font_bytes();
        let parsed = FontRef::new(bytes).map_err(|_| ReviewError::Font)?;
        let font = Font::new(bytes.into(), 0).ok_or(ReviewError::Font)?;
        let header = parsed.metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(header.units_per_em);
        if units_per_em <= 0.0 {
            return Err(ReviewError::Font);
        }
        Ok(Self {
            font,
            charmap: parsed.charmap(),
            metrics: parsed.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em,
            ascent: header.ascent / units_per_em,
        })
    }

    /// The font, for krilla.
    pub fn font(&self) -> Font {
        self.font.clone()
    }

    /// One glyph per character (left to right, no ligatures), each mapped
    /// back to its character so the PDF's text can be copied and searched.
    pub fn shape(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(at, c)| {
                let (id, advance) = self.glyph(c);
                KrillaGlyph::new(
                    GlyphId::new(id),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    Range {
                        start: at,
                        end: at + c.len_utf8(),
                    },
                    None,
                )
            })
            .collect()
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    /// The glyph id and advance (in em) of `c`; a character the font lacks
    /// is its missing glyph.
    fn glyph(&self, c: char) -> (u32, f32) {
        let id = self.charmap.map(c).unwrap_or_default();
        let advance = self.metrics.advance_width(id).unwrap_or(0.0) / self.units_per_em;
        (id.to_u32(), advance)
    }

    /// `text` cut to fit `max` points at `size`, with an ellipsis when cut.
    pub fn truncate(&self, text: &str, size: f32, max: f32) -> String {
        if self.width(text, size) <= max {
            return text.to_string();
        }
        let room = max - self.width(&ELLIPSIS.to_string(), size);
        let mut used = 0.0;
        let mut end = 0;
        for (at, c) in text.char_indices() {
            let w = self.glyph(c).1 * size;
            if used + w > room {
                break;
            }
            used += w;
            end = at + c.len_utf8();
        }
        let mut out = text[..end].trim_end().to_string();
        out.push(ELLIPSIS);
        out
    }

    /// `text` broken into lines of at most `max` points at `size`: at
    /// spaces, and inside a word only when the word alone is too wide.
    pub fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word starts a line; too wide alone, it is cut where it
            // fills one.
            let mut rest = word;
            while self.width(rest, size) > max {
                let cut = self.fitting_prefix(rest, size, max);
                lines.push(rest[..cut].to_string());
                rest = &rest[cut..];
            }
            line = rest.to_string();
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// The byte length of the longest prefix of `text` (at least one
    /// character) that fits `max` points at `size`.
    fn fitting_prefix(&self, text: &str, size: f32, max: f32) -> usize {
        let mut used = 0.0;
        let mut end = 0;
        for (at, c) in text.char_indices() {
            let w = self.glyph(c).1 * size;
            if end > 0 && used + w > max {
                break;
            }
            used += w;
            end = at + c.len_utf8();
        }
        end
    }

    /// The largest size from `preferred` down to `min` (in half points) at
    /// which `text` fits `max` points; `min` when none does.
    pub fn fit_size(&self, text: &str, preferred: f32, min: f32, max: f32) -> f32 {
        let mut size = preferred;
        while size > min && self.width(text, size) > max {
            size -= 0.5;
        }
        size.max(min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_within_the_width_and_keeps_every_word() {
        let face = Face::load().unwrap();
        let text = "The quick brown fox jumps over the lazy dog and then some more words follow";
        let lines = face.wrap(text, 12.0, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        for l in &lines {
            assert!(face.width(l, 12.0) <= 120.0, "{l}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut() {
        let face = Face::load().unwrap();
        let word = "x".repeat(200);
        let lines = face.wrap(&word, 12.0, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), word);
        for l in &lines {
            assert!(face.width(l, 12.0) <= 100.0);
        }
    }

    #[test]
    fn truncates_with_an_ellipsis_only_when_too_wide() {
        let face = Face::load().unwrap();
        assert_eq!(face.truncate("Short", 10.0, 200.0), "Short");
        let cut = face.truncate("A rather long service name that cannot fit", 10.0, 80.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(face.width(&cut, 10.0) <= 80.0);
    }
}

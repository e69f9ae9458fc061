//! Stable colours: a key (service, account, ...) gets the same colour in
//! every chart, whatever else is in it.

use plotters::style::RGBColor;

/// Tableau 20 without its two greys, which are kept for "Other".
const PALETTE: [RGBColor; 18] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0x49, 0x98, 0x94),
    RGBColor(0xB6, 0x99, 0x2D),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0x9D, 0x76, 0x60),
    RGBColor(0xD3, 0x72, 0x95),
    RGBColor(0xA0, 0xCB, 0xE8),
    RGBColor(0xFF, 0xBE, 0x7D),
    RGBColor(0xFF, 0x9D, 0x9A),
    RGBColor(0x8C, 0xD1, 0x7D),
    RGBColor(0x86, 0xBC, 0xB6),
    RGBColor(0xF1, 0xCE, 0x63),
    RGBColor(0xD4, 0xA6, 0xC8),
    RGBColor(0xD7, 0xB5, 0xA6),
    RGBColor(0xFA, 0xBF, 0xD2),
];

/// The colour of the "Other" bucket, in every chart.
pub(crate) const OTHER: RGBColor = RGBColor(0xA8, 0xA8, 0xA8);

/// The colour of an ungrouped total.
pub(crate) const TOTAL: RGBColor = PALETTE[0];

/// 64-bit FNV-1a: stable across runs, builds and platforms, unlike std's
/// randomly seeded hasher.
pub(crate) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The palette slot a key hashes to.
fn slot(key: &str) -> usize {
    // The remainder is below PALETTE.len(), so it fits in usize.
    (fnv1a(key) % PALETTE.len() as u64) as usize
}

/// The colour a key gets when nothing larger in the chart has taken it.
#[cfg(test)]
pub(crate) fn colour_of(key: &str) -> RGBColor {
    PALETTE[slot(key)]
}

/// Colours for keys given largest first. Each key gets its hashed colour; if a
/// larger key in the same chart already has it, the next free palette colour
/// is used instead, so two keys side by side never share a colour (while
/// there are no more keys than colours). The largest keys therefore keep
/// their colour from chart to chart.
pub(crate) fn assign(keys: &[&str]) -> Vec<RGBColor> {
    let mut taken = [false; PALETTE.len()];
    let mut used = 0usize;
    keys.iter()
        .map(|key| {
            let mut s = slot(key);
            if used < PALETTE.len() {
                while taken[s] {
                    s = (s + 1) % PALETTE.len();
                }
                taken[s] = true;
                used += 1;
            }
            PALETTE[s]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn colours_are_distinct_and_the_largest_key_keeps_its_own() {
        let keys: Vec<String> = (0..18).map(|i| format!("Service{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let colours = assign(&refs);
        assert_eq!(colours[0], colour_of("Service0"));
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
            assert_ne!(*a, OTHER);
        }
        // More keys than colours still works (colours repeat).
        let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(assign(&refs).len(), 40);
    }
}

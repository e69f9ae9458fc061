//! Text for axes, legends and headers: money and period labels.

use chrono::NaiveDate;
use costcarve_core::cost::Granularity;

/// How amounts in a currency are written (one rule for charts, slides and
/// packs).
pub(crate) use costcarve_core::presentation::currency_prefix;

/// An axis tick: `$950`, `$2.50`, `$12.3k`, `$1.25k`, `$1.2M`, exact enough
/// that neighbouring ticks never read the same.
pub(crate) fn money_tick(prefix: &str, value: f64) -> String {
    if !value.is_finite() {
        return format!("{prefix}?");
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let v = value.abs();
    // Tick values come out of float arithmetic (e.g. 0.30000000000000004).
    let v = if v < 1e-9 { 0.0 } else { v };
    let body = if v < 1000.0 {
        if (v - v.round()).abs() < 0.005 {
            format!("{}", v.round())
        } else {
            format!("{v:.2}")
        }
    } else {
        let (scaled, unit) = if v < 1e6 {
            (v / 1e3, "k")
        } else if v < 1e9 {
            (v / 1e6, "M")
        } else {
            (v / 1e9, "B")
        };
        // 999_960 is "$1000k" at one decimal; say "$1M" instead.
        let (scaled, unit) = if unit == "k" && scaled >= 999.95 {
            (scaled / 1e3, "M")
        } else if unit == "M" && scaled >= 999.95 {
            (scaled / 1e3, "B")
        } else {
            (scaled, unit)
        };
        format!("{}{unit}", trim_decimals(scaled))
    };
    format!("{sign}{prefix}{body}")
}

/// An amount in a legend or on a bar, to three significant digits: `$2.35`,
/// `$448`, `$9.83k`, `$39.6k`, `$792k`, `$1.2M`.
pub(crate) fn money_short(prefix: &str, value: f64) -> String {
    if !value.is_finite() {
        return format!("{prefix}?");
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let v = value.abs();
    let body = if v < 0.005 {
        "0".to_string()
    } else if v < 9.995 {
        format!("{v:.2}")
    } else if v < 999.5 {
        format!("{v:.0}")
    } else {
        let mut scaled = v / 1e3;
        let mut units = ["k", "M", "B"].iter().peekable();
        let mut unit = "k";
        while let Some(u) = units.next() {
            unit = u;
            // Rounded to three digits, is it still under 1000 of this unit?
            if significant3(scaled).parse::<f64>().unwrap_or(scaled) < 1000.0
                || units.peek().is_none()
            {
                break;
            }
            scaled /= 1e3;
        }
        format!("{}{unit}", significant3(scaled))
    };
    format!("{sign}{prefix}{body}")
}

/// Three significant digits without trailing zeros: `9.83`, `39.6`, `18`.
fn significant3(v: f64) -> String {
    let s = if v < 9.995 {
        format!("{v:.2}")
    } else if v < 99.95 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// One decimal where that is exact enough (`12.3`, `10`), otherwise two
/// (`1.25`, so ticks 250 apart stay distinct).
fn trim_decimals(v: f64) -> String {
    let one = format!("{v:.1}");
    let two = format!("{v:.2}");
    let s = if (v * 10.0 - (v * 10.0).round()).abs() < 0.01 {
        one
    } else {
        two
    };
    if let Some(stripped) = s.strip_suffix(".0") {
        stripped.to_string()
    } else if let Some(stripped) = s.strip_suffix(".00") {
        stripped.to_string()
    } else {
        s
    }
}

/// A full amount with thousands separators and cents: `$123,456.78`.
pub(crate) fn money_full(prefix: &str, value: f64) -> String {
    let sign = if value < 0.0 { "-" } else { "" };
    let cents = (value.abs() * 100.0).round();
    let whole = (cents / 100.0).trunc();
    let frac = cents - whole * 100.0;
    let digits = format!("{whole:.0}");
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{prefix}{grouped}.{frac:02.0}")
}

/// `2025-11` for monthly periods, `2025-11-03` for daily ones.
pub(crate) fn period_label(granularity: Granularity, period: NaiveDate) -> String {
    match granularity {
        Granularity::Monthly => period.format("%b %Y").to_string(),
        Granularity::Daily => period.format("%-d %b %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_money_reads_like_a_person_wrote_it() {
        assert_eq!(money_tick("$", 0.0), "$0");
        assert_eq!(money_tick("$", 950.0), "$950");
        assert_eq!(money_tick("$", 2.5), "$2.50");
        assert_eq!(money_tick("$", 12_300.0), "$12.3k");
        assert_eq!(money_tick("$", 10_000.0), "$10k");
        assert_eq!(money_tick("$", 1_250.0), "$1.25k");
        assert_eq!(money_tick("$", 1_200_000.0), "$1.2M");
        assert_eq!(money_tick("$", 999_990.0), "$1M");
        assert_eq!(money_tick("$", -1_500.0), "-$1.5k");
        assert_eq!(money_tick("$", 3.0e-12), "$0");
        assert_eq!(money_tick("CHF ", 40.0), "CHF 40");
    }

    #[test]
    fn short_money_has_three_significant_digits() {
        assert_eq!(money_short("$", 0.0), "$0");
        assert_eq!(money_short("$", 2.345), "$2.35");
        assert_eq!(money_short("$", 448.23), "$448");
        assert_eq!(money_short("$", 999.7), "$1k");
        assert_eq!(money_short("$", 9_830.0), "$9.83k");
        assert_eq!(money_short("$", 39_580.0), "$39.6k");
        assert_eq!(money_short("$", 18_000.0), "$18k");
        assert_eq!(money_short("$", 4_500.0), "$4.5k");
        assert_eq!(money_short("$", 791_600.0), "$792k");
        assert_eq!(money_short("$", 999_600.0), "$1M");
        assert_eq!(money_short("$", 1_200_000.0), "$1.2M");
        assert_eq!(money_short("$", 5.0e12), "$5000B");
        assert_eq!(money_short("$", -1_234.0), "-$1.23k");
    }

    #[test]
    fn full_money_has_separators_and_cents() {
        assert_eq!(money_full("$", 123_456.784), "$123,456.78");
        assert_eq!(money_full("$", 0.5), "$0.50");
        assert_eq!(money_full("$", 999.999), "$1,000.00");
        assert_eq!(money_full("$", -1234.0), "-$1,234.00");
    }

    #[test]
    fn currencies_get_their_symbols() {
        assert_eq!(currency_prefix("USD"), "$");
        assert_eq!(currency_prefix("eur"), "€");
        assert_eq!(currency_prefix("CHF"), "CHF ");
    }
}

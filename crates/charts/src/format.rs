//! Text for axes, legends and headers: money and period labels.

use chrono::NaiveDate;
use costcarve_core::cost::Granularity;

/// How amounts in a currency are written: a symbol before the number (`$`),
/// or the ISO code and a space (`CHF `) for currencies without a common one.
pub(crate) fn currency_prefix(currency: &str) -> String {
    match currency.trim().to_ascii_uppercase().as_str() {
        "" | "USD" => "$".into(),
        "EUR" => "€".into(),
        "GBP" => "£".into(),
        "JPY" | "CNY" => "¥".into(),
        "INR" => "₹".into(),
        other => format!("{other} "),
    }
}

/// A compact amount for axes and legends: `$950`, `$2.50`, `$12.3k`, `$1.2M`.
pub(crate) fn money_compact(prefix: &str, value: f64) -> String {
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
        Granularity::Monthly => period.format("%Y-%m").to_string(),
        Granularity::Daily => period.format("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_money_reads_like_a_person_wrote_it() {
        assert_eq!(money_compact("$", 0.0), "$0");
        assert_eq!(money_compact("$", 950.0), "$950");
        assert_eq!(money_compact("$", 2.5), "$2.50");
        assert_eq!(money_compact("$", 12_300.0), "$12.3k");
        assert_eq!(money_compact("$", 10_000.0), "$10k");
        assert_eq!(money_compact("$", 1_250.0), "$1.25k");
        assert_eq!(money_compact("$", 1_200_000.0), "$1.2M");
        assert_eq!(money_compact("$", 999_990.0), "$1M");
        assert_eq!(money_compact("$", -1_500.0), "-$1.5k");
        assert_eq!(money_compact("$", 3.0e-12), "$0");
        assert_eq!(money_compact("CHF ", 40.0), "CHF 40");
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
